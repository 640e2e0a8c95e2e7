// Small HTTP clients for the REST tests: JSON calls through fetch, and raw streaming uploads through
// node:http (to see when the server answers while the body is still being sent).
import * as http from "node:http";

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export async function call(base: string, path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(base + path, init);
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body, text };
}

export const postJson = (base: string, path: string, data: unknown, headers: Record<string, string> = {}) =>
  call(base, path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(data) });

export const postForm = (base: string, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  call(base, path, { method: "POST", headers, body: new URLSearchParams(fields) });

/** A multipart body: fields first (unless fieldsAfter), then the file. */
export function multipart(
  file: Buffer | undefined,
  opts: { fields?: Record<string, string>; fieldsAfter?: Record<string, string>; fileName?: string; fileField?: string; mime?: string } = {},
): { boundary: string; head: Buffer; tail: Buffer; body: Buffer; contentType: string } {
  const boundary = `----deepsafe${Math.random().toString(16).slice(2)}`;
  const field = (k: string, v: string) => `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  let head = Object.entries(opts.fields ?? {}).map(([k, v]) => field(k, v)).join("");
  if (file) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${opts.fileField ?? "file"}"; filename="${opts.fileName ?? "upload.bin"}"\r\nContent-Type: ${opts.mime ?? "application/octet-stream"}\r\n\r\n`;
  }
  const tail = `${file ? "\r\n" : ""}${Object.entries(opts.fieldsAfter ?? {}).map(([k, v]) => field(k, v)).join("")}--${boundary}--\r\n`;
  const headBuf = Buffer.from(head);
  const tailBuf = Buffer.from(tail);
  return {
    boundary,
    head: headBuf,
    tail: tailBuf,
    body: Buffer.concat([headBuf, file ?? Buffer.alloc(0), tailBuf]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

export function postMultipart(base: string, path: string, file: Buffer | undefined, opts: Parameters<typeof multipart>[1] & { headers?: Record<string, string> } = {}) {
  const m = multipart(file, opts);
  return call(base, path, { method: "POST", headers: { "content-type": m.contentType, ...opts.headers }, body: new Uint8Array(m.body) });
}

export interface StreamedUpload {
  /** Resolves with the reply (status, body) whenever the server answers. */
  reply: Promise<Reply & { sentWhenAnswered: number }>;
  /** Write more bytes (waits for drain). */
  write(buf: Buffer): Promise<void>;
  end(): void;
  sent(): number;
  destroy(): void;
}

/** A POST whose body the test writes piece by piece (chunked unless content-length is given). */
export function streamedPost(base: string, path: string, headers: Record<string, string>): StreamedUpload {
  const url = new URL(base + path);
  let sent = 0;
  // Once the server has answered (or hung up), writes stop waiting for 'drain': a server that refused
  // the upload stops reading, so a drain may never come.
  let settled = false;
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: "POST", headers, agent: false });
  req.on("error", () => {}); // the server may close while we still write: expected in these tests
  const reply = new Promise<Reply & { sentWhenAnswered: number }>((resolve, reject) => {
    req.on("response", (res) => {
      settled = true;
      req.emit("drain");
      const sentWhenAnswered = sent;
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8");
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, body, text, sentWhenAnswered });
      });
      res.on("error", reject);
    });
    req.on("close", () => {
      settled = true;
      req.emit("drain");
      reject(new Error("connection closed without a response"));
    });
  });
  reply.catch(() => {});
  return {
    reply,
    async write(buf: Buffer) {
      sent += buf.length;
      if (!req.write(buf) && !settled) await new Promise<void>((r) => req.once("drain", r));
    },
    end: () => req.end(),
    sent: () => sent,
    destroy: () => req.destroy(),
  };
}
