// Where the gateway is. The dashboard's server answers /config.json; without it (vite dev) the
// gateway is assumed on this host at :8000, as `npm start` runs it.
export interface DashboardConfig {
  /** The gateway's base URL, e.g. http://localhost:8000 (no trailing slash). */
  gatewayUrl: string;
}

export interface ServedConfig {
  /** A full URL, used as is. */
  gatewayUrl?: string;
  /** The gateway's port on the host the page was loaded from (so the dashboard works from any host name). */
  gatewayPort?: number;
}

export function resolveConfig(served: ServedConfig, location: { protocol: string; hostname: string }): DashboardConfig {
  if (served.gatewayUrl) return { gatewayUrl: served.gatewayUrl.replace(/\/+$/, "") };
  const host = location.hostname.includes(":") ? `[${location.hostname}]` : location.hostname;
  return { gatewayUrl: `${location.protocol}//${host}:${served.gatewayPort ?? 8000}` };
}

export async function loadConfig(): Promise<DashboardConfig> {
  let served: ServedConfig = {};
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    if (res.ok) served = (await res.json()) as ServedConfig;
  } catch {
    // no config endpoint (vite dev): the default below
  }
  return resolveConfig(served, window.location);
}
