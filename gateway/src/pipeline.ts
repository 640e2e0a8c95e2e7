// One code path for every detection, whatever the API (Connect/gRPC Detect, REST /predict, REST
// /detect): the streaming Detect of detect.ts, plus what surrounds it — the caller's identity,
// metrics, the sha256 and size of the media as it streams past, and the history record (queued
// in the outbox; never awaited, so MongoDB can never slow down or fail a detection).
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { DetectRequest, DetectResponse } from "@deepsafe/proto/es/gateway";
import type { Principal } from "./auth/index.js";
import { detect } from "./detect.js";
import type { DetectorPool } from "./detectors.js";
import { historyRecord } from "./history/record.js";
import type { HistoryRecord } from "./history/store.js";
import type { DetectMethod, GatewayMetrics } from "./metrics.js";
import { outcomeOf } from "./rest/errors.js";
import { VERDICT_NAME } from "./rest/convert.js";
import { mediaName, type Registry } from "./registry.js";
import type { StackingEnsembles } from "./stacking/ensembles.js";

export interface PipelineDeps {
  registry: Registry;
  pool: DetectorPool;
  /** Deployed stacking meta-learners (absent: stacking falls back to average). */
  stacking?: StackingEnsembles | undefined;
  metrics: GatewayMetrics;
  /** Queue a history record (undefined: history is off). Must not throw or wait. */
  record?: ((r: HistoryRecord) => void) | undefined;
  log: (msg: string) => void;
}

export interface DetectCall {
  method: DetectMethod;
  requests: AsyncIterable<DetectRequest>;
  ctx: HandlerContext;
  principal?: Principal | undefined;
  /** Used as the request id when the header carries none (the X-Request-ID of the HTTP request). */
  requestId?: string | undefined;
}

export interface DetectOutcome {
  response: DetectResponse;
  /** Media bytes received and their sha256 (hex). */
  size: number;
  sha256: string;
}

export class Pipeline {
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  draining = false;

  constructor(private readonly deps: PipelineDeps) {}

  get active(): number {
    return this.inFlight;
  }

  /** Resolves when no detection is running. */
  idle(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async run(call: DetectCall): Promise<DetectOutcome> {
    if (this.draining) throw new ConnectError("the gateway is shutting down", Code.Unavailable);
    const { metrics } = this.deps;
    const started = performance.now();
    const hash = createHash("sha256");
    let size = 0;
    let media = "unknown";
    const requestId = call.requestId;

    async function* tap(): AsyncGenerator<DetectRequest> {
      for await (const msg of call.requests) {
        const p = msg.payload;
        if (p.case === "header") {
          if (!p.value.requestId && requestId) p.value.requestId = requestId;
          media = mediaName(p.value.mediaType) ?? media;
        } else if (p.case === "chunk") {
          hash.update(p.value);
          size += p.value.byteLength;
        }
        yield msg;
      }
    }

    this.inFlight++;
    metrics.inflight.inc({ method: call.method });
    try {
      const response = await detect(tap(), call.ctx, this.deps);
      media = mediaName(response.mediaType) ?? media;
      const sha256 = hash.digest("hex");
      const seconds = (performance.now() - started) / 1000;
      metrics.requests.inc({ method: call.method, media_type: media, verdict: VERDICT_NAME[response.verdict], outcome: "ok" });
      metrics.requestDuration.observe({ method: call.method, media_type: media, outcome: "ok" }, seconds);
      metrics.receivedBytes.inc({ method: call.method, media_type: media }, size);
      for (const r of response.modelResults) {
        if (r.errorCode) metrics.detectorErrors.inc({ model: r.model, code: r.errorCode });
        if (r.callSeconds > 0) metrics.detectorCallDuration.observe({ model: r.model, outcome: r.errorCode || "OK" }, r.callSeconds);
      }
      if (this.deps.record) {
        try {
          this.deps.record(
            historyRecord(response, { user: call.principal?.id ?? null, method: call.method, size, sha256, createdAt: new Date() }),
          );
        } catch (err) {
          this.deps.log(`history: record dropped: ${(err as Error).message}`);
        }
      }
      return { response, size, sha256 };
    } catch (err) {
      const outcome = outcomeOf(err);
      metrics.requests.inc({ method: call.method, media_type: media, verdict: "none", outcome });
      metrics.requestDuration.observe({ method: call.method, media_type: media, outcome }, (performance.now() - started) / 1000);
      throw err;
    } finally {
      metrics.inflight.dec({ method: call.method });
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
