// Detect: stream one upload to every selected detector in parallel, chunk by chunk as it
// arrives (never buffering the file), then fuse the answers.
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as det from "@deepsafe/proto/grpc/detector";
import { MediaType, WeightsKind } from "@deepsafe/proto/es/common";
import { PredictResponseSchema } from "@deepsafe/proto/es/detector";
import {
  DetectResponseSchema,
  EnsembleMethod,
  ModelHealth,
  ModelResultSchema,
  type DetectHeader,
  type DetectRequest,
  type DetectResponse,
} from "@deepsafe/proto/es/gateway";
import { CHUNK_BYTES, statusName, type DetectorPool } from "./detectors.js";
import { fuse, type StackingOutcome } from "./fusion.js";
import { ENSEMBLE_OF, mediaName, type DetectorConfig, type Registry } from "./registry.js";
import { compatible, sniff, SNIFF_BYTES } from "./sniff.js";
import { nextWithin } from "./upload-idle.js";
import type { StackingEnsembles } from "./stacking/ensembles.js";

export interface DetectDeps {
  registry: Registry;
  pool: DetectorPool;
  /** Deployed stacking meta-learners (absent: stacking falls back to average). */
  stacking?: StackingEnsembles | undefined;
}

/** One Predict stream to one detector. */
class DetectorCall {
  readonly result: Promise<det.PredictResponse>;
  readonly stream: grpc.ClientWritableStream<det.PredictRequest>;
  done = false;
  readonly startedAt = performance.now();
  finishedAt = 0;
  /** Fires on 'drain' and when the call ends, so a writer waiting for drain never hangs. */
  private readonly wake = new EventEmitter();

  constructor(
    readonly config: DetectorConfig,
    client: det.DetectorServiceClient,
    deadline: number,
  ) {
    let settle!: (err: grpc.ServiceError | null, res?: det.PredictResponse) => void;
    this.result = new Promise((resolve, reject) => {
      settle = (err, res) => (err ? reject(err) : resolve(res!));
    });
    this.result.catch(() => {}); // read later through allSettled
    this.stream = client.predict({ deadline }, (err, res) => {
      this.done = true;
      this.finishedAt = performance.now();
      settle(err, res);
      this.wake.emit("go");
    });
    this.stream.on("error", () => {}); // failures arrive through the callback
    this.stream.on("drain", () => this.wake.emit("go"));
  }

  /** Returns false when the caller should wait for drained() before writing more. */
  write(msg: det.PredictRequest): boolean {
    return this.done ? true : this.stream.write(msg);
  }

  drained(): Promise<void> {
    return this.done ? Promise.resolve() : new Promise((resolve) => this.wake.once("go", resolve));
  }

  end(): void {
    if (!this.done) this.stream.end();
  }

  cancel(): void {
    if (!this.done) this.stream.cancel();
  }
}

interface Outcome {
  config: DetectorConfig;
  response?: det.PredictResponse;
  errorCode?: string;
  errorMessage?: string;
  callSeconds: number;
}

const invalid = (msg: string) => new ConnectError(msg, Code.InvalidArgument);

function checkHeader(h: DetectHeader, registry: Registry): void {
  if (h.threshold !== undefined && !(h.threshold >= 0 && h.threshold <= 1)) throw invalid(`threshold must be in [0, 1], got ${h.threshold}`);
  if (!Object.values(EnsembleMethod).includes(h.ensembleMethod)) throw invalid(`unknown ensemble_method ${h.ensembleMethod}`);
  if (h.mediaType !== MediaType.UNSPECIFIED && !mediaName(h.mediaType)) throw invalid(`unknown media_type ${h.mediaType}`);
  const enabled = registry.detectors.filter((d) => d.enabled).map((d) => d.name);
  for (const m of h.models) {
    if (!enabled.includes(m)) throw invalid(`unknown model "${m}"; valid models: ${enabled.join(", ") || "(none configured)"}`);
  }
}

function tooLarge(size: number, limit: number, what: string): ConnectError {
  return new ConnectError(`${what} of ${size} bytes exceeds the ${limit}-byte limit for this media type`, Code.ResourceExhausted);
}

/** The detectors to call: the requested ones, or the media type's defaults. */
function selectDetectors(h: DetectHeader, media: MediaType, registry: Registry): DetectorConfig[] {
  const name = mediaName(media)!;
  if (h.models.length === 0) {
    const defaults = registry.detectors.filter((d) => d.enabled && d.default && d.media_type === name);
    if (defaults.length === 0) throw new ConnectError(`no detector is configured for ${name}`, Code.Unavailable);
    return defaults;
  }
  return [...new Set(h.models)].map((m) => {
    const d = registry.detectors.find((x) => x.enabled && x.name === m)!;
    if (d.media_type !== name) throw invalid(`model "${m}" analyses ${d.media_type}, but the media is ${name}`);
    return d;
  });
}

function toPredictHeader(h: DetectHeader, requestId: string, media: MediaType, mime: string, d: DetectorConfig): det.PredictRequest {
  return {
    payload: {
      $case: "header",
      value: {
        requestId,
        mediaType: media as number as det.PredictHeader["mediaType"],
        mimeType: mime,
        declaredSize: Number(h.declaredSize),
        threshold: h.threshold ?? d.threshold,
        options: {},
        fileName: h.fileName,
      },
    },
  };
}

export async function detect(requests: AsyncIterable<DetectRequest>, ctx: HandlerContext, deps: DetectDeps): Promise<DetectResponse> {
  const started = performance.now();
  const { registry, pool } = deps;
  const it = requests[Symbol.asyncIterator]();

  const idleMs = registry.gateway.upload_idle_timeout_ms;
  const first = await nextWithin(it.next(), idleMs);
  if (first.done || first.value.payload.case !== "header") throw invalid("the first message must be a header");
  const header = first.value.payload.value;
  checkHeader(header, registry);
  const requestId = header.requestId || randomUUID();
  const declared = Number(header.declaredSize);
  const limitOf = (m: MediaType) => registry.media[mediaName(m)!].max_upload_bytes;

  let media = header.mediaType;
  if (media !== MediaType.UNSPECIFIED && declared > limitOf(media)) throw tooLarge(declared, limitOf(media), "declared size");

  /** Next chunk of the upload, or undefined at the end. */
  const nextChunk = async (): Promise<Buffer | undefined> => {
    for (;;) {
      const n = await nextWithin(it.next(), idleMs);
      if (n.done) return undefined;
      const p = n.value.payload;
      if (p.case === "header") throw invalid("the header was sent twice");
      if (p.case === "chunk" && p.value.byteLength > 0) return Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength);
    }
  };

  // Read just enough to recognise the format; these few chunks are forwarded first.
  const pending: Buffer[] = [];
  let received = 0;
  let ended = false;
  while (received < SNIFF_BYTES) {
    const c = await nextChunk();
    if (!c) {
      ended = true;
      break;
    }
    pending.push(c);
    received += c.length;
    if (media !== MediaType.UNSPECIFIED && received > limitOf(media)) throw tooLarge(received, limitOf(media), "upload");
  }
  if (received === 0) throw invalid("no media bytes were sent");
  const sniffed = sniff(Buffer.concat(pending, Math.min(received, SNIFF_BYTES)));
  if (media === MediaType.UNSPECIFIED) {
    if (!sniffed) throw invalid("cannot tell the media type from the first bytes; set header.media_type");
    media = sniffed.mediaType;
  } else if (!compatible(sniffed, media)) {
    throw invalid(`media_type is ${mediaName(media)}, but the bytes are ${sniffed!.mime}`);
  }
  const limit = limitOf(media);
  if (declared > limit) throw tooLarge(declared, limit, "declared size");
  if (received > limit) throw tooLarge(received, limit, "upload");

  const selected = selectDetectors(header, media, registry);
  // Skip detectors known to be down (reported as failed); unchecked ones are tried.
  const isUp = (d: DetectorConfig) => [ModelHealth.SERVING, ModelHealth.UNSPECIFIED].includes(pool.state(d.name)?.health ?? ModelHealth.UNSPECIFIED);
  const down = selected.filter((d) => !isUp(d));
  if (down.length === selected.length) {
    const why = down.map((d) => `${d.name} (${ModelHealth[pool.state(d.name)!.health]}${pool.state(d.name)!.detail ? `: ${pool.state(d.name)!.detail}` : ""})`);
    throw new ConnectError(`no selected ${mediaName(media)} detector is serving: ${why.join(", ")}`, Code.Unavailable);
  }

  const mime = header.mimeType || sniffed?.mime || "";
  const requestTimeout = ctx.timeoutMs();
  const calls = selected.filter(isUp).map((d) => {
    const deadline = Date.now() + Math.min(d.deadline_ms, requestTimeout ?? Infinity);
    const call = new DetectorCall(d, pool.client(d.name), deadline);
    call.write(toPredictHeader(header, requestId, media, mime, d));
    return call;
  });
  const cancelAll = () => calls.forEach((c) => c.cancel());
  ctx.signal.addEventListener("abort", cancelAll);

  try {
    // Same Buffer to every live detector, in pieces of at most CHUNK_BYTES (zero-copy views).
    // Backpressure: the next chunk is pulled only once every slow stream drained; a failed
    // detector is dropped from the fan-out, so it can never stall the others.
    const forward = async (buf: Buffer): Promise<boolean> => {
      for (let off = 0; off < buf.length; off += CHUNK_BYTES) {
        const piece = off === 0 && buf.length <= CHUNK_BYTES ? buf : buf.subarray(off, off + CHUNK_BYTES);
        const live = calls.filter((c) => !c.done);
        if (live.length === 0) return false;
        const slow = live.filter((c) => !c.write({ payload: { $case: "chunk", value: piece } }));
        if (slow.length > 0) await Promise.all(slow.map((c) => c.drained()));
      }
      return true;
    };

    let open = true;
    for (const c of pending) open &&= await forward(c);
    while (open && !ended) {
      const c = await nextChunk();
      if (!c) break;
      received += c.length;
      if (received > limit) throw tooLarge(received, limit, "upload");
      open = await forward(c);
    }
    if (ctx.signal.aborted) throw new ConnectError("the client cancelled the request", Code.Canceled);
    calls.forEach((c) => c.end());

    const settled = await Promise.allSettled(calls.map((c) => c.result));
    const outcomes: Outcome[] = selected.map((d) => {
      const i = calls.findIndex((c) => c.config === d);
      if (i < 0) {
        const s = pool.state(d.name)!;
        return { config: d, errorCode: "UNAVAILABLE", errorMessage: `not serving (${ModelHealth[s.health]}${s.detail ? `: ${s.detail}` : ""})`, callSeconds: 0 };
      }
      const call = calls[i]!;
      const r = settled[i]!;
      const callSeconds = (call.finishedAt - call.startedAt) / 1000;
      if (r.status === "fulfilled") return { config: d, response: r.value, callSeconds };
      const err = r.reason as grpc.ServiceError;
      return { config: d, errorCode: statusName(err.code), errorMessage: err.details || err.message, callSeconds };
    });
    if (ctx.signal.aborted) throw new ConnectError("the client cancelled the request", Code.Canceled);
    throwIfAllFailed(outcomes);
    return await buildResponse(header, requestId, media, registry, outcomes, received, started, pool, deps.stacking);
  } finally {
    ctx.signal.removeEventListener("abort", cancelAll);
    cancelAll(); // no-op for finished calls; stops detectors when we bail out early
  }
}

/** All failed: bad media stays a client error; anything else means the mesh cannot answer. */
function throwIfAllFailed(outcomes: Outcome[]): void {
  if (!outcomes.every((o) => o.errorCode)) return;
  const detail = outcomes.map((o) => `${o.config.name}: ${o.errorCode} ${o.errorMessage ?? ""}`.trim()).join("; ");
  const codes = new Set(outcomes.map((o) => o.errorCode));
  if (codes.size === 1 && codes.has("INVALID_ARGUMENT")) throw invalid(`the media was rejected: ${detail}`);
  if (codes.size === 1 && codes.has("RESOURCE_EXHAUSTED")) throw new ConnectError(`too large or overloaded: ${detail}`, Code.ResourceExhausted);
  throw new ConnectError(`every detector failed: ${detail}`, Code.Unavailable);
}

async function buildResponse(
  header: DetectHeader,
  requestId: string,
  media: MediaType,
  registry: Registry,
  outcomes: Outcome[],
  received: number,
  started: number,
  pool: DetectorPool,
  stacking: StackingEnsembles | undefined,
): Promise<DetectResponse> {
  const defaults = registry.media[mediaName(media)!];
  const threshold = header.threshold ?? defaults.threshold;
  const predictions = outcomes.map((o) => (o.response ? fromBinary(PredictResponseSchema, det.PredictResponse.encode(o.response).finish()) : undefined));
  const inputs = outcomes.map((o, i) => ({ prediction: predictions[i], errorCode: o.errorCode }));
  const method = header.ensembleMethod === EnsembleMethod.UNSPECIFIED ? ENSEMBLE_OF[defaults.ensemble] : header.ensembleMethod;
  let stacked: StackingOutcome | undefined;
  if (method === EnsembleMethod.STACKING && stacking) {
    const live = outcomes.map((o) => ({ name: o.config.name, info: pool.state(o.config.name)?.info }));
    stacked = await stacking
      .score(mediaName(media)!, inputs.map((x, i) => ({ ...x, detector: live[i]! })), header.includeRandomWeights)
      .catch((err: unknown) => ({ unavailable: `the meta-learner failed: ${(err as Error).message}` }));
  }
  const fused = fuse(inputs, { method, threshold, includeRandomWeights: header.includeRandomWeights, stacking: stacked });
  return create(DetectResponseSchema, {
    requestId,
    mediaType: media,
    verdict: fused.verdict,
    confidenceInVerdict: fused.confidence,
    ensembleScore: fused.score,
    ensembleMethodRequested: header.ensembleMethod,
    ensembleMethodUsed: fused.methodUsed,
    note: fused.note,
    threshold,
    fakeVotes: fused.fakeVotes,
    realVotes: fused.realVotes,
    totalVotes: fused.totalVotes,
    modelResults: outcomes.map((o, i) =>
      create(ModelResultSchema, {
        model: o.config.name,
        prediction: predictions[i],
        errorCode: o.errorCode ?? "",
        errorMessage: o.errorMessage ?? "",
        callSeconds: o.callSeconds,
        usedInVerdict: fused.used[i],
        weightsKind: predictions[i]?.weightsKind ?? pool.state(o.config.name)?.info?.weights?.kind ?? WeightsKind.UNSPECIFIED,
      }),
    ),
    totalSeconds: (performance.now() - started) / 1000,
    receivedBytes: BigInt(received),
    fileName: header.fileName,
  });
}
