// A typed client for the gateway's public API over Connect, gRPC or gRPC-Web (HTTP/2 by default),
// with optional bearer-token or API-key authentication on every call.
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { DeepSafeService } from "@deepsafe/proto/es/gateway";

export type Protocol = "connect" | "grpc" | "grpc-web";
export type DeepSafeClient = Client<typeof DeepSafeService>;

export interface ClientOptions {
  /** The gateway's base URL, e.g. http://localhost:8000. */
  baseUrl: string;
  /** Wire protocol; all three are served on the gateway's one port. Default "connect". */
  protocol?: Protocol;
  /** HTTP/2 (default; h2c for http:) or HTTP/1.1 (Connect and gRPC-Web only). */
  httpVersion?: "1.1" | "2";
  /** A bearer token from POST /token or AccountService.Login. */
  token?: string;
  /** A service API key, sent as X-API-Key. */
  apiKey?: string;
  /** Default deadline per call in milliseconds. */
  timeoutMs?: number;
}

export function createDeepSafeClient(options: ClientOptions): DeepSafeClient {
  const auth: Interceptor = (next) => (req) => {
    if (options.token) req.header.set("authorization", `Bearer ${options.token}`);
    if (options.apiKey) req.header.set("x-api-key", options.apiKey);
    return next(req);
  };
  const protocol = options.protocol ?? "connect";
  const httpVersion = options.httpVersion ?? "2";
  if (protocol === "grpc" && httpVersion !== "2") throw new RangeError("gRPC needs HTTP/2");
  const base = {
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    interceptors: [auth],
    ...(options.timeoutMs !== undefined ? { defaultTimeoutMs: options.timeoutMs } : {}),
  };
  const transport =
    protocol === "grpc"
      ? createGrpcTransport(base) // always HTTP/2
      : protocol === "grpc-web"
        ? createGrpcWebTransport({ ...base, httpVersion })
        : createConnectTransport({ ...base, httpVersion });
  return createClient(DeepSafeService, transport);
}
