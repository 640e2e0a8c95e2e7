// The dashboard's own static server (default :8888): the vite build in dist/, /config.json telling
// the page where the gateway is, and security headers (a strict CSP keeps foreign script away from
// the session token). Its API calls go straight to the gateway, which allows this origin by CORS
// (registry rest.cors_origins).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import { join } from "node:path";
import sirv from "sirv";
import { distDir as defaultDistDir } from "./build.js";

export { ensureDashboardBuilt, staleReason } from "./build.js";

export const DEFAULT_DASHBOARD_PORT = 8888;

export interface DashboardOptions {
  /** Default DEFAULT_DASHBOARD_PORT; 0 picks a free one. */
  port?: number;
  host?: string;
  /** The gateway as the browser reaches it: a port on the page's own host name, or a full URL. */
  gateway: { port: number } | { url: string };
  distDir?: string;
}

export interface DashboardServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The gateway origin a page loaded through `hostHeader` will call. */
function gatewayOrigin(gateway: DashboardOptions["gateway"], hostHeader: string | undefined): string {
  if ("url" in gateway) return new URL(gateway.url).origin;
  const host = (hostHeader ?? "localhost").replace(/:\d+$/, "");
  return `http://${host}:${gateway.port}`;
}

function securityHeaders(res: ServerResponse, gateway: string): void {
  res.setHeader(
    "Content-Security-Policy",
    [
      "default-src 'self'",
      `connect-src 'self' ${gateway}`,
      "img-src 'self' blob: data:",
      "media-src 'self' blob:",
      "style-src 'self'",
      "script-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
  );
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
}

export async function startDashboard(options: DashboardOptions): Promise<DashboardServer> {
  const dist = options.distDir ?? defaultDistDir;
  if (!existsSync(join(dist, "index.html"))) throw new Error(`the dashboard is not built (${dist}): run \`npm run build -w @deepsafe/dashboard\``);
  // Hashed assets are immutable; index.html and config.json must never be cached stale.
  const files = sirv(dist, {
    etag: true,
    setHeaders: (res, pathname) => res.setHeader("Cache-Control", pathname.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache"),
  });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const gateway = gatewayOrigin(options.gateway, req.headers.host);
    securityHeaders(res, gateway);
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/config.json" && (req.method === "GET" || req.method === "HEAD")) {
      const body = JSON.stringify("url" in options.gateway ? { gatewayUrl: options.gateway.url } : { gatewayPort: options.gateway.port });
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store", "Content-Length": Buffer.byteLength(body) });
      res.end(req.method === "HEAD" ? undefined : body);
      return;
    }
    files(req, res, () => {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("Not found\n");
    });
  };
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? DEFAULT_DASHBOARD_PORT, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
