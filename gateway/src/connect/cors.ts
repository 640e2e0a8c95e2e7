// CORS for the Connect / gRPC-Web paths, from the same allow-list as the REST API
// (registry rest.cors_origins): the dashboard on :8888 calls the gateway on :8000 with Connect-Web.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { cors } from "@connectrpc/connect";

/** Headers browsers send beside Connect's own: credentials and our request id. */
const APP_HEADERS = ["Authorization", "X-API-Key", "X-Request-ID"];

/**
 * Sets the CORS headers when the request's Origin is allowed. Returns true when it answered a
 * preflight (OPTIONS) itself; the caller then stops. Disallowed origins get no CORS headers, so
 * the browser blocks the call (the server still answers non-browser clients as before).
 */
export function connectCors(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  allowedOrigins: readonly string[],
): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== "string" || !(allowedOrigins.includes(origin) || allowedOrigins.includes("*"))) return false;
  res.setHeader("Access-Control-Allow-Origin", allowedOrigins.includes("*") ? "*" : origin);
  res.setHeader("Vary", "Origin");
  res.setHeader("Access-Control-Expose-Headers", [...cors.exposedHeaders, "X-Request-ID"].join(", "));
  if (req.method !== "OPTIONS") return false;
  res.setHeader("Access-Control-Allow-Methods", cors.allowedMethods.join(", "));
  res.setHeader("Access-Control-Allow-Headers", [...cors.allowedHeaders, ...APP_HEADERS].join(", "));
  res.setHeader("Access-Control-Max-Age", "600");
  res.statusCode = 204;
  res.end();
  return true;
}
