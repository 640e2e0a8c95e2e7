// Reading request bodies with limits enforced while reading (413 the moment the limit is crossed,
// or at once when Content-Length already says so), and small forms (urlencoded, multipart, JSON).
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { Busboy, type BusboyInstance } from "@fastify/busboy";
import { HttpError, badRequest, tooLarge } from "./errors.js";

export type Req = IncomingMessage | Http2ServerRequest;

export function contentLength(req: Req): number | undefined {
  const v = req.headers["content-length"];
  return typeof v === "string" && /^\d+$/.test(v) ? Number(v) : undefined;
}

export function mediaTypeOf(req: Req): string {
  return String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The whole body, at most `limit` bytes (413 otherwise). */
export function readBody(req: Req, limit: number): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > limit) return Promise.reject(tooLarge(`body of ${declared} bytes exceeds the ${limit}-byte limit`));
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(`body exceeds the ${limit}-byte limit`));
        return;
      }
      parts.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(parts, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new HttpError(499, "canceled", `the upload was interrupted: ${err.message}`));
    };
    const onAborted = () => onError(new Error("client closed the connection"));
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}

/** A small form: application/x-www-form-urlencoded, multipart/form-data (fields only) or JSON. */
export async function readForm(req: Req, limit = 64 * 1024): Promise<Record<string, string>> {
  const type = mediaTypeOf(req);
  if (type === "multipart/form-data") return readMultipartFields(req, limit);
  const body = await readBody(req, limit);
  if (type === "application/json") {
    let data: unknown;
    try {
      data = JSON.parse(body.toString("utf8"));
    } catch {
      throw new HttpError(422, "validation_error", [{ loc: ["body"], msg: "malformed JSON", type: "json_invalid" }]);
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      throw new HttpError(422, "validation_error", [{ loc: ["body"], msg: "expected a JSON object", type: "object_type" }]);
    }
    return Object.fromEntries(Object.entries(data as Record<string, unknown>).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  }
  if (type === "application/x-www-form-urlencoded" || type === "") {
    return Object.fromEntries(new URLSearchParams(body.toString("utf8")));
  }
  throw new HttpError(415, "unsupported_media_type", `expected application/x-www-form-urlencoded, multipart/form-data or application/json, got ${type}`);
}

function readMultipartFields(req: Req, limit: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let bb: BusboyInstance;
    try {
      bb = new Busboy({ headers: req.headers as { "content-type": string }, limits: { fieldSize: 4096, fields: 20, files: 0, parts: 40 } });
    } catch (err) {
      reject(badRequest(`malformed multipart request: ${(err as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    let size = 0;
    bb.on("field", (name: string, value: string) => {
      size += name.length + value.length;
      if (size > limit) reject(tooLarge(`form exceeds the ${limit}-byte limit`));
      fields[name] = value;
    });
    bb.on("file", (_name: string, stream: NodeJS.ReadableStream) => stream.resume());
    bb.on("finish", () => resolve(fields));
    bb.on("error", (err: Error) => reject(badRequest(`malformed multipart body: ${err.message}`)));
    req.pipe(bb);
  });
}
