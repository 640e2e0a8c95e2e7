// Two fixes to how errors reach Connect/gRPC clients.
//
// 1. A request message that does not parse (not protobuf, invalid UTF-8 in a string) is the client's
//    mistake: connect-node reports it as INTERNAL, we answer INVALID_ARGUMENT, as gRPC servers do.
// 2. grpc-message percent-encoding: connect-node uses encodeURIComponent, which also encodes ':' ','
//    '/' '@' ';'; grpc-js decodes with decodeURI, which leaves those encoded, so plain grpc-js clients
//    read "rejected%3A npr%3A …". We re-encode the way the gRPC spec asks (only '%' and bytes outside
//    printable ASCII), which every conforming client decodes.
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

export const malformedRequestIsInvalid: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    if (err instanceof ConnectError && err.code === Code.Internal && /^parse (binary|JSON):/.test(err.rawMessage)) {
      throw new ConnectError(`malformed request message: ${err.rawMessage}`, Code.InvalidArgument);
    }
    throw err;
  }
};

/** gRPC's percent-encoding of grpc-message: '%' and bytes outside 0x20–0x7E only. */
export function grpcPercentEncode(text: string): string {
  let out = "";
  for (const b of Buffer.from(text, "utf8")) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

function reencode(headers: unknown): void {
  if (!headers || typeof headers !== "object") return;
  const h = headers as Record<string, unknown>;
  const value = h["grpc-message"];
  if (typeof value !== "string") return;
  try {
    h["grpc-message"] = grpcPercentEncode(decodeURIComponent(value));
  } catch {
    // not percent-encoded by us: leave it
  }
}

/** Rewrite grpc-message in this response's headers (trailers-only answers) and trailers. */
export function specEncodedGrpcMessages(res: http.ServerResponse | http2.Http2ServerResponse): void {
  const r = res as unknown as { writeHead: (...a: unknown[]) => unknown; addTrailers: (t: unknown) => void };
  const writeHead = r.writeHead.bind(res);
  r.writeHead = (...args: unknown[]) => {
    reencode(args[args.length - 1]);
    return writeHead(...args);
  };
  const addTrailers = r.addTrailers.bind(res);
  r.addTrailers = (trailers: unknown) => {
    reencode(trailers);
    addTrailers(trailers);
  };
}
