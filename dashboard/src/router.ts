// Hash routes (#/analyse, #/result/<id>, #/history?page=2): the static server needs no rewrites and
// the browser's back button works.
import { useSyncExternalStore } from "react";

export interface Route {
  /** First path segment: "analyse", "result", "history", "models", "login". */
  page: string;
  /** The rest of the path, decoded (e.g. the request id). */
  param: string;
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?");
  const [page = "", ...rest] = path.split("/");
  return { page: page || "analyse", param: decodeURIComponent(rest.join("/")), query: new URLSearchParams(query) };
}

const subscribe = (cb: () => void) => {
  window.addEventListener("hashchange", cb);
  return () => window.removeEventListener("hashchange", cb);
};

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseHash(hash);
}

export function navigate(to: string): void {
  window.location.hash = to;
}
