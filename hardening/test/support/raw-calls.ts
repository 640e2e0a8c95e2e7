// Hand-made requests for what no well-behaved client sends: broken gRPC/gRPC-Web/Connect framing,
// messages that are not protobuf, a stream that stops mid-message. Over HTTP/2, and for gRPC-Web
// also over HTTP/1.1, the way a browser sends it.
import * as http from "node:http";
import * as http2 from "node:http2";
import type { RpcTransport } from "../../cases/types.js";

export interface RawReply {
  httpStatus: number;
  /** gRPC/gRPC-Web: grpc-status / grpc-message (headers, trailers or trailer frame). Connect: the error code. */
  code: string;
  message: string;
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, payload. */
export function frame(payload: Buffer, opts: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head[0] = opts.compressed ? 1 : 0;
  head.writeUInt32BE(opts.declaredLength ?? payload.length, 1);
  return Buffer.concat([head, payload]);
}

export interface RawCall {
  protocol: RpcTransport;
  /** e.g. "deepsafe.v1.DeepSafeService/Detect". */
  method: string;
  /** Connect unary has no envelope (and a different content type); every other call is enveloped. */
  unary?: boolean;
  /** Overrides the protocol's content type (e.g. one the gateway does not speak). */
  contentType?: string;
  body: Buffer;
  timeoutMs?: number;
}

const GRPC_CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"];

function contentTypeOf(c: RawCall): string {
  if (c.contentType) return c.contentType;
  if (c.protocol === "connect") return c.unary ? "application/proto" : "application/connect+proto";
  return c.protocol === "grpc" ? "application/grpc+proto" : "application/grpc-web+proto";
}

type Headers = Record<string, string | string[] | undefined>;

/** The status of a finished call from what came back: headers, HTTP/2 trailers, body. */
function replyOf(c: RawCall, httpStatus: number, headers: Headers, trailers: Headers, body: Buffer): RawReply {
  if (c.protocol === "connect") {
    // Unary: the body is {"code", "message"} on an error status. Streaming: the last envelope (flag 0x02)
    // holds {"error": {"code", "message"}}.
    let end: { code?: string; message?: string; error?: { code?: string; message?: string } } = {};
    try {
      if (c.unary) end = httpStatus === 200 ? {} : JSON.parse(body.toString("utf8"));
      else {
        for (let off = 0; off + 5 <= body.length; off += 5 + body.readUInt32BE(off + 1)) {
          if (body[off]! & 0x02) end = JSON.parse(body.subarray(off + 5, off + 5 + body.readUInt32BE(off + 1)).toString("utf8"));
        }
      }
    } catch {
      return { httpStatus, code: `HTTP ${httpStatus}`, message: body.toString("utf8").slice(0, 200) };
    }
    const error = c.unary ? end : end.error;
    return { httpStatus, code: (error?.code ?? "ok").toUpperCase(), message: error?.message ?? "" };
  }
  const fields: Record<string, string> = {};
  for (const h of [headers, trailers]) {
    if (h["grpc-status"] !== undefined) fields["grpc-status"] = String(h["grpc-status"]);
    if (h["grpc-message"] !== undefined) fields["grpc-message"] = String(h["grpc-message"]);
  }
  // gRPC-Web: the trailers travel in the body, in an envelope flagged 0x80, as HTTP/1 header lines.
  if (c.protocol === "grpc-web") {
    for (let off = 0; off + 5 <= body.length; off += 5 + body.readUInt32BE(off + 1)) {
      if (!(body[off]! & 0x80)) continue;
      for (const line of body.subarray(off + 5, off + 5 + body.readUInt32BE(off + 1)).toString("utf8").split("\r\n")) {
        const [, name, value] = /^([^:]+):\s*(.*)$/.exec(line) ?? [];
        if (name) fields[name.toLowerCase()] = value!;
      }
    }
  }
  const status = fields["grpc-status"];
  if (status === undefined) return { httpStatus, code: `HTTP ${httpStatus}`, message: body.toString("utf8").slice(0, 200) };
  return { httpStatus, code: GRPC_CODES[Number(status)] ?? `grpc-status ${status}`, message: decodeURIComponent(fields["grpc-message"] ?? "") };
}

/**
 * POST the body over HTTP/2 with the protocol's content type, end the stream (even in the middle of a
 * message, if that is what the body is) and read the status the gateway gives.
 */
export function rawCall(baseUrl: string, c: RawCall): Promise<RawReply> {
  const timeoutMs = c.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const req = session.request({
      ":method": "POST",
      ":path": `/${c.method}`,
      "content-type": contentTypeOf(c),
      ...(c.protocol === "grpc" ? { te: "trailers" } : {}),
    });
    const timer = setTimeout(() => {
      req.close();
      session.close();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let httpStatus = 0;
    let headers: Headers = {};
    let trailers: Headers = {};
    const data: Buffer[] = [];
    req.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      headers = h;
    });
    req.on("trailers", (h) => (trailers = h));
    req.on("data", (d: Buffer) => data.push(d));
    req.on("error", () => {});
    req.on("close", () => {
      clearTimeout(timer);
      session.close();
      resolve(replyOf(c, httpStatus, headers, trailers, Buffer.concat(data)));
    });
    req.end(c.body);
  });
}

/** The same call over HTTP/1.1 on its own connection (gRPC-Web as a browser sends it). */
export function rawCallHttp1(baseUrl: string, c: RawCall): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${baseUrl}/${c.method}`,
      { method: "POST", agent: false, timeout: c.timeoutMs ?? 15_000, headers: { "content-type": contentTypeOf(c), "content-length": String(c.body.length) } },
      (res) => {
        const data: Buffer[] = [];
        res.on("data", (d: Buffer) => data.push(d));
        res.on("end", () => resolve(replyOf(c, res.statusCode ?? 0, res.headers, res.trailers, Buffer.concat(data))));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer in time")));
    req.on("error", reject);
    req.end(c.body);
  });
}
