// One hostile case over one transport, with the answer reduced to what the suite checks: a verdict
// (media type, per-model errors) or a typed error (gRPC code, REST status and code, message).
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { DeepSafeServiceClient } from "@deepsafe/proto/grpc/gateway";
import { MediaType } from "@deepsafe/proto/es/common";
import * as http from "node:http";
import { multipart } from "../../../gateway/test/http-helpers.js";
import { connectClient } from "../../../deploy/test/clients.js";
import type { Expectation, HostileCase, MediaName, RpcTransport, Transport } from "../../cases/types.js";

export interface Observed {
  verdict?: { media: MediaName | "unknown"; fileName: string; modelErrors: string[]; models: number };
  error?: { code: Code; http?: number; httpCode?: string; message: string };
}

const MEDIA: Record<number, MediaName> = { [MediaType.IMAGE]: "image", [MediaType.VIDEO]: "video", [MediaType.AUDIO]: "audio" };

export interface Target {
  baseUrl: string;
  grpcAddress: string;
  /** Headers every request sends (an Authorization: Bearer in the suite, to prove it is never logged). */
  headers: Record<string, string>;
}

export async function runCase(t: Transport, c: HostileCase, target: Target): Promise<Observed> {
  if (t !== "rest") {
    const msgs: Msg[] = [{ header: { fileName: c.fileName ?? "", mimeType: c.mime ?? "", declaredSize: c.bytes.length } }];
    for (let off = 0; off < c.bytes.length; off += 64 * 1024) msgs.push({ chunk: c.bytes.subarray(off, off + 64 * 1024) });
    return sendMessages(t, target, msgs);
  }
  const m = multipart(c.bytes, { fileName: c.fileName ?? "upload.bin", mime: c.mime ?? "application/octet-stream", fields: { include_random_weights: "true" } });
  const r = await postOnce(`${target.baseUrl}/detect`, { ...target.headers, "content-type": m.contentType }, m.body);
  if (r.status === 200) {
    const results = Object.entries((r.body?.model_results ?? {}) as Record<string, { error?: string }>);
    return { verdict: { media: r.body.media_type_processed, fileName: r.body.filename, models: results.length, modelErrors: results.filter(([, v]) => v.error).map(([k, v]) => `${k}: ${v.error}`) } };
  }
  const detail = typeof r.body?.detail === "string" ? r.body.detail : JSON.stringify(r.body?.detail ?? r.text);
  return { error: { code: Code.Unknown, http: r.status, httpCode: r.body?.code, message: detail } };
}

/** Empty when the observation meets the expectation, else what differs. */
export function mismatch(t: Transport, expected: Expectation, seen: Observed): string {
  if (expected.verdict) {
    if (!seen.verdict) return `expected a verdict, got ${JSON.stringify(seen.error)}`;
    if (seen.verdict.media !== expected.media) return `expected media ${expected.media}, got ${seen.verdict.media}`;
    if (seen.verdict.models === 0) return "no model result in the verdict";
    if (seen.verdict.modelErrors.length) return `model errors: ${seen.verdict.modelErrors.join("; ")}`;
    return "";
  }
  if (!seen.error) return `expected ${t === "rest" ? expected.http : Code[expected.code]}, got a verdict`;
  if (t === "rest") {
    if (seen.error.http !== expected.http || seen.error.httpCode !== expected.httpCode) {
      return `expected ${expected.http} ${expected.httpCode}, got ${seen.error.http} ${seen.error.httpCode}: ${seen.error.message}`;
    }
  } else if (seen.error.code !== expected.code) {
    return `expected ${Code[expected.code]}, got ${Code[seen.error.code]}: ${seen.error.message}`;
  }
  return expected.message.test(seen.error.message) ? "" : `message ${JSON.stringify(seen.error.message)} does not match ${expected.message}`;
}

/** A Detect stream message as the protocol cases write it (either client library). */
export type Msg = { header: { mediaType?: number; declaredSize?: number; threshold?: number; models?: string[]; fileName?: string; mimeType?: string } } | { chunk: Buffer };

interface AnyResult {
  mediaType: number;
  fileName: string;
  modelResults: { model: string; errorCode: string; errorMessage: string }[];
}

function verdictOf(r: AnyResult): Observed {
  const modelErrors = r.modelResults.filter((m) => m.errorCode).map((m) => `${m.model}: ${m.errorCode} ${m.errorMessage}`);
  return { verdict: { media: MEDIA[r.mediaType] ?? "unknown", fileName: r.fileName, models: r.modelResults.length, modelErrors } };
}

/**
 * Send exactly these messages (in order) over Connect or gRPC-Web (connect-node, HTTP/2: unlike a
 * browser, it can stream a request over gRPC-Web) or plain grpc-js; the typed answer.
 */
export async function sendMessages(t: RpcTransport, target: Target, msgs: Msg[]): Promise<Observed> {
  if (t !== "grpc") {
    async function* stream() {
      for (const m of msgs) {
        if ("chunk" in m) yield { payload: { case: "chunk" as const, value: m.chunk } };
        else yield { payload: { case: "header" as const, value: { ...m.header, declaredSize: BigInt(m.header.declaredSize ?? 0), includeRandomWeights: true } } };
      }
    }
    try {
      return verdictOf(await connectClient(target.baseUrl, t).detect(stream(), { headers: target.headers }));
    } catch (err) {
      const e = ConnectError.from(err);
      return { error: { code: e.code, message: e.rawMessage } };
    }
  }
  const client = new DeepSafeServiceClient(target.grpcAddress, grpc.credentials.createInsecure());
  return new Promise<Observed>((resolve) => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(target.headers)) md.set(k, v);
    const call = client.detect(md, (err, r) => {
      client.close();
      if (err) resolve({ error: { code: err.code as number as Code, message: err.details } });
      else resolve(verdictOf(r!));
    });
    call.on("error", () => {});
    for (const m of msgs) {
      if ("chunk" in m) call.write({ payload: { $case: "chunk", value: m.chunk } });
      else {
        call.write({
          payload: {
            $case: "header",
            value: { requestId: "", mediaType: 0, mimeType: "", fileName: "", ensembleMethod: 0, models: [], includeRandomWeights: true, ...m.header, declaredSize: m.header.declaredSize ?? 0 },
          },
        });
      }
    }
    call.end();
  });
}

/**
 * One POST on its own connection (no keep-alive pool: a pooled socket the server closed while idle
 * would fail the next case for a reason that has nothing to do with it).
 */
export function postOnce(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: any; text: string }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { ...headers, "content-length": String(body.length) }, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => {
        const text = Buffer.concat(parts).toString("utf8");
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
