// The logged-in session: the gateway's access token, kept in sessionStorage.
// Why sessionStorage: it survives a reload but not the tab (unlike localStorage it is not shared
// with every other tab nor kept on disk after the browser closes), and the token is short-lived
// (30 min by default). Both storages are readable by script, so the dashboard adds no third-party
// script, never renders HTML from data, and is served with a strict Content-Security-Policy.
// The token is checked before it is kept (a well-formed JWT whose exp is in the future) and
// dropped at its expiry; the gateway verifies signature, issuer and audience on every call.

export interface Session {
  token: string;
  username: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

const KEY = "deepsafe.session";
/** Treat a token as expired this long before its exp, so a call does not race the expiry. */
const EXPIRY_MARGIN_MS = 10_000;

export class SessionError extends Error {
  override name = "SessionError";
}

function base64UrlDecode(s: string): string {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=");
  return new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
}

/** The claims of a compact JWS, or SessionError when it is not one. No signature check (the gateway does it). */
export function jwtClaims(token: string): { exp?: number; sub?: string } {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)) || !parts[1]) throw new SessionError("the server sent a malformed token");
  try {
    const claims = JSON.parse(base64UrlDecode(parts[1])) as unknown;
    if (typeof claims !== "object" || claims === null) throw new Error("not an object");
    return claims as { exp?: number; sub?: string };
  } catch {
    throw new SessionError("the server sent a malformed token");
  }
}

/** A session from a token the gateway just issued: expiry from the token's exp, else from expires_in. */
export function sessionFromToken(token: string, username: string, expiresInS: number, now = Date.now()): Session {
  const { exp } = jwtClaims(token);
  const expiresAt = typeof exp === "number" ? exp * 1000 : now + expiresInS * 1000;
  if (!(expiresAt > now + EXPIRY_MARGIN_MS)) throw new SessionError("the server sent a token that has already expired");
  return { token, username, expiresAt };
}

export const isLive = (s: Session, now = Date.now()): boolean => s.expiresAt - EXPIRY_MARGIN_MS > now;

export function saveSession(storage: Storage, s: Session): void {
  storage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(storage: Storage): void {
  storage.removeItem(KEY);
}

/** The stored session if it is well formed and not expired; otherwise it is removed. */
export function loadSession(storage: Storage, now = Date.now()): Session | undefined {
  const raw = storage.getItem(KEY);
  if (!raw) return undefined;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token === "string" && typeof s.username === "string" && typeof s.expiresAt === "number") {
      jwtClaims(s.token);
      const session = { token: s.token, username: s.username, expiresAt: s.expiresAt };
      if (isLive(session, now)) return session;
    }
  } catch {
    // fall through: a damaged entry is dropped
  }
  storage.removeItem(KEY);
  return undefined;
}

/** The gateway's registration rules (3-64 characters starting with a letter or digit; password 8-256), told before a round trip. */
export function credentialProblems(username: string, password: string): { username?: string; password?: string } {
  const out: { username?: string; password?: string } = {};
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@+-]{2,63}$/.test(username)) out.username = "3 to 64 characters: letters, digits and . _ @ + -, starting with a letter or digit";
  if (password.length < 8 || password.length > 256) out.password = "8 to 256 characters";
  return out;
}
