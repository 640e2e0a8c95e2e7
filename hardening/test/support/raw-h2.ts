// Hand-made HTTP/2 requests for what no well-behaved client sends: broken gRPC/Connect framing,
// messages that are not protobuf, a stream that stops mid-message.
import * as http2 from "node:http2";

export interface RawReply {
  httpStatus: number;
  /** gRPC: grpc-status / grpc-message (headers or trailers). Connect: the end-stream error. */
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

const GRPC_CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"];

/**
 * POST `body` to the Detect method with the given protocol's content type, end the stream (even in
 * the middle of a message, if that is what the body is) and read the status the gateway gives.
 */
export function rawDetect(baseUrl: string, protocol: "grpc" | "connect", body: Buffer, timeoutMs = 15_000): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const headers: http2.OutgoingHttpHeaders = {
      ":method": "POST",
      ":path": "/deepsafe.v1.DeepSafeService/Detect",
      "content-type": protocol === "grpc" ? "application/grpc+proto" : "application/connect+proto",
      ...(protocol === "grpc" ? { te: "trailers" } : {}),
    };
    const req = session.request(headers);
    const timer = setTimeout(() => {
      req.close();
      session.close();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let httpStatus = 0;
    let grpcStatus = "";
    let grpcMessage = "";
    const data: Buffer[] = [];
    req.on("response", (h) => {
      httpStatus = Number(h[":status"]);
      if (h["grpc-status"] !== undefined) {
        grpcStatus = String(h["grpc-status"]);
        grpcMessage = decodeURIComponent(String(h["grpc-message"] ?? ""));
      }
    });
    req.on("trailers", (h) => {
      grpcStatus = String(h["grpc-status"] ?? grpcStatus);
      grpcMessage = decodeURIComponent(String(h["grpc-message"] ?? grpcMessage));
    });
    req.on("data", (d: Buffer) => data.push(d));
    req.on("error", () => {});
    req.on("close", () => {
      clearTimeout(timer);
      session.close();
      if (protocol === "grpc") {
        resolve({ httpStatus, code: GRPC_CODES[Number(grpcStatus)] ?? `grpc-status ${grpcStatus || "missing"}`, message: grpcMessage });
        return;
      }
      // Connect streaming: the last envelope (flag 0x02) holds {"error": {"code", "message"}}.
      const all = Buffer.concat(data);
      let end: { error?: { code?: string; message?: string } } = {};
      for (let off = 0; off + 5 <= all.length; ) {
        const len = all.readUInt32BE(off + 1);
        if (all[off]! & 0x02) end = JSON.parse(all.subarray(off + 5, off + 5 + len).toString("utf8"));
        off += 5 + len;
      }
      resolve({ httpStatus, code: (end.error?.code ?? "ok").toUpperCase(), message: end.error?.message ?? "" });
    });
    req.end(body);
  });
}
