// What every page shares: the API clients, the session (with its expiry timer) and the results of
// this tab's uploads (so a result opens instantly, even for a caller without history).
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import type { DetectResponse } from "@deepsafe/proto/es/gateway";
import { createApi, type Api } from "./api";
import type { DashboardConfig } from "./config";
import { navigate } from "./router";
import { clearSession, loadSession, saveSession, type Session } from "./session";

interface AppState {
  api: Api;
  session: Session | undefined;
  /** Why the last session ended, shown on the login page. */
  sessionNotice: string | undefined;
  logIn(s: Session): void;
  logOut(notice?: string): void;
  results: Map<string, DetectResponse>;
}

const Ctx = createContext<AppState | null>(null);

export function useApp(): AppState {
  const v = useContext(Ctx);
  if (!v) throw new Error("useApp outside AppProvider");
  return v;
}

export function AppProvider({ config, children }: { config: DashboardConfig; children: ReactNode }) {
  const [session, setSession] = useState<Session | undefined>(() => loadSession(window.sessionStorage));
  const [sessionNotice, setNotice] = useState<string>();
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const results = useRef(new Map<string, DetectResponse>()).current;

  const logOut = useCallback((notice?: string) => {
    clearSession(window.sessionStorage);
    setSession(undefined);
    setNotice(notice);
  }, []);
  const logIn = useCallback((s: Session) => {
    saveSession(window.sessionStorage, s);
    setNotice(undefined);
    setSession(s);
  }, []);

  const api = useMemo(
    () =>
      createApi(
        config.gatewayUrl,
        () => sessionRef.current?.token,
        () => {
          logOut("Your session has expired or was refused. Please log in again.");
          navigate("/login");
        },
      ),
    [config.gatewayUrl, logOut],
  );

  // Drop the token when it expires, even if no call notices.
  useEffect(() => {
    if (!session) return;
    const ms = Math.max(0, session.expiresAt - Date.now() - 10_000);
    const timer = setTimeout(() => {
      logOut("Your session has expired. Please log in again.");
      navigate("/login");
    }, Math.min(ms, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [session, logOut]);

  const value = useMemo(() => ({ api, session, sessionNotice, logIn, logOut, results }), [api, session, sessionNotice, logIn, logOut, results]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}
