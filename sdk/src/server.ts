// serveDetector(): everything a detector process needs around the author's load() and predict():
// grpc-js server, grpc.health.v1 (readiness and liveness), reflection, admission control,
// deadlines, upload reassembly, metrics, graceful drain.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Server as HttpServer } from "node:http";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import {
  DetectorServiceService,
  type DetectorServiceServer,
  type ModelInfo,
  type PredictResponse,
} from "@deepsafe/proto/grpc/detector";
import {
  CancelledError,
  DeadlineExceededError,
  InvalidMediaError,
  UnavailableError,
  toDetectorError,
} from "./errors.js";
import { type BatchingOptions, batchingFromEnv } from "./batching.js";
import { InferenceLimiter } from "./limiter.js";
import { log } from "./log.js";
import { DetectorMetrics } from "./metrics.js";
import {
  type DetectorModel,
  type PredictContext,
  type Provenance,
  mediaTypeOf,
  segmentKindOf,
  weightsKindOf,
} from "./model.js";
import { modelDir, protoRoot } from "./paths.js";
import { receiveUpload } from "./upload.js";

export const DETECTOR_SERVICE = "deepsafe.v1.DetectorService";
/** Health service name that reports liveness only (the process answers), never readiness. */
export const LIVENESS_SERVICE = "liveness";

export interface ServeOptions {
  /** gRPC port; 0 picks a free one. Default $PORT. */
  port?: number;
  /** Default $DEEPSAFE_BIND or 127.0.0.1 (use 0.0.0.0 in containers). */
  host?: string;
  /** Port for /metrics; default $METRICS_PORT or port + 10000; -1 disables. */
  metricsPort?: number;
  /** Inferences at once (default $DEEPSAFE_MAX_CONCURRENT, else the max batch size when batching, else 1). */
  maxConcurrent?: number;
  /** Admitted requests beyond the running ones (default $DEEPSAFE_MAX_QUEUED or 8). */
  maxQueued?: number;
  /** "eager" loads before reporting SERVING; "lazy" reports SERVING and loads on the first call. */
  load?: "eager" | "lazy";
  /** Threads for one inference (default $DEEPSAFE_THREADS or all cores). */
  intraOpThreads?: number;
  /** Dynamic batching for a `batchable` model (default from $DEEPSAFE_BATCH_MAX_SIZE etc.: off); false = off. */
  batching?: BatchingOptions | false;
  /** Run the model's warm-up before reporting SERVING (default true; $DEEPSAFE_WARMUP=0 turns it off). */
  warmup?: boolean;
  /** Upper bound on one request when the client sets no deadline. */
  defaultTimeoutMs?: number;
  /** How long SIGTERM waits for in-flight calls before cancelling them. */
  drainTimeoutMs?: number;
  /** Override the weights directory (default modelDir(card.name)). */
  modelDir?: string;
  /** Install SIGTERM/SIGINT handlers that drain and exit (default true). */
  handleSignals?: boolean;
}

export interface DetectorHandle {
  port: number;
  metricsPort?: number;
  /** Flip readiness, finish in-flight calls (bounded), release the model. */
  drain(): Promise<void>;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

const envNumber = (name: string): number | undefined => {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : Number(value);
};

export async function serveDetector(model: DetectorModel<unknown>, options: ServeOptions = {}): Promise<DetectorHandle> {
  const card = model.card;
  const port = options.port ?? envNumber("PORT") ?? 0;
  const host = options.host ?? process.env.DEEPSAFE_BIND ?? "127.0.0.1";
  const maxBytes = card.maxBytes ?? DEFAULT_MAX_BYTES;
  const loadMode = options.load ?? (process.env.DEEPSAFE_LOAD === "lazy" ? "lazy" : "eager");
  const batchingAsked = options.batching === false ? undefined : (options.batching ?? batchingFromEnv());
  if (batchingAsked && !model.batchable) log("warn", "batching ignored: this model does not batch", { model: card.name });
  const batching = model.batchable ? batchingAsked : undefined;
  const limiter = new InferenceLimiter({
    // A batch only fills when at least maxBatchSize calls may reach predict() at once.
    maxConcurrent: options.maxConcurrent ?? envNumber("DEEPSAFE_MAX_CONCURRENT") ?? batching?.maxBatchSize ?? 1,
    maxQueued: options.maxQueued ?? envNumber("DEEPSAFE_MAX_QUEUED") ?? 8,
  });
  if (batching && limiter.options.maxConcurrent < batching.maxBatchSize) {
    log("warn", "batches cannot fill: fewer concurrent inferences than the max batch size", {
      model: card.name,
      maxConcurrent: limiter.options.maxConcurrent,
      maxBatchSize: batching.maxBatchSize,
    });
  }
  const warmup = options.warmup ?? process.env.DEEPSAFE_WARMUP !== "0";
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 120_000;
  const metrics = new DetectorMetrics({ model: card.name, version: card.version });
  const labels = metrics.labels;
  const health = new HealthImplementation({
    "": "NOT_SERVING",
    [DETECTOR_SERVICE]: "NOT_SERVING",
    [LIVENESS_SERVICE]: "SERVING",
  });
  const setReady = (ready: boolean) => {
    const status = ready ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    health.setStatus(DETECTOR_SERVICE, status);
  };

  let provenance: Provenance | undefined;
  let loadSeconds = 0;
  let loadError: Error | undefined;
  let loading: Promise<void> | undefined;
  let draining = false;
  const ensureLoaded = (): Promise<void> => {
    loading ??= (async () => {
      const started = performance.now();
      try {
        provenance = await model.load({
          modelDir: options.modelDir ?? modelDir(card.name),
          intraOpThreads: options.intraOpThreads ?? envNumber("DEEPSAFE_THREADS") ?? availableParallelism(),
          batching,
          observeBatch: ({ size, queueSeconds }) => {
            metrics.batchSize.observe(labels, size);
            for (const seconds of queueSeconds) metrics.batchQueueDuration.observe(labels, seconds);
          },
        });
        if (warmup) await model.warmup();
        loadSeconds = (performance.now() - started) / 1000;
        metrics.loadSeconds.set(labels, loadSeconds);
        log("info", "model ready", { model: card.name, weights: provenance.kind, loadSeconds, warmup, batchMaxSize: batching?.maxBatchSize ?? 1 });
        if (!draining) setReady(true);
      } catch (err) {
        loadError = err instanceof Error ? err : new Error(String(err));
        setReady(false);
        log("error", "model failed to load", { model: card.name, error: loadError.message });
        throw loadError;
      }
    })();
    return loading;
  };

  const modelInfo = (): ModelInfo => ({
    name: card.name,
    version: card.version,
    mediaType: mediaTypeOf[model.media],
    description: card.description,
    input: {
      mimeTypes: card.mimeTypes ?? [],
      maxBytes,
      maxPixels: card.maxPixels ?? 0,
      tensors: card.tensors.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
      preprocessing: card.preprocessing,
    },
    defaultThreshold: card.defaultThreshold,
    weights: provenance && {
      kind: weightsKindOf[provenance.kind],
      source: provenance.source,
      checkpointSha256: provenance.checkpointSha256 ?? "",
      onnxSha256: provenance.onnxSha256 ?? "",
      license: provenance.license ?? "",
      description: provenance.description ?? "",
    },
    paper: card.paper,
    license: card.license,
    loadSeconds,
  });

  const predict: DetectorServiceServer["predict"] = (call, callback) => {
    const started = performance.now();
    let release: (() => void) | undefined;
    const controller = new AbortController();
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    const budgetMs = Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : defaultTimeoutMs;
    const timer = setTimeout(
      () => controller.abort(new DeadlineExceededError(`deadline of ${Math.round(budgetMs)} ms exceeded`)),
      budgetMs,
    );
    // grpc-js reports an expired deadline as "cancelled", a moment before our own timer: name it right.
    const onCancelled = () =>
      controller.abort(
        Date.now() >= deadlineMs - 50 // timers may fire a few ms early against Date.now()
          ? new DeadlineExceededError(`deadline of ${Math.round(budgetMs)} ms exceeded`)
          : new CancelledError("client cancelled the call"),
      );
    call.on("cancelled", onCancelled);

    const finish = (outcome: string, err?: Error, response?: PredictResponse) => {
      clearTimeout(timer);
      call.off("cancelled", onCancelled);
      release?.();
      metrics.inflight.set(labels, limiter.inflight);
      metrics.requests.inc({ ...labels, outcome });
      metrics.requestDuration.observe(labels, (performance.now() - started) / 1000);
      if (err) {
        const typed = toDetectorError(err);
        if (typed.code === grpc.status.INTERNAL) log("error", "predict failed", { model: card.name, error: err.message });
        callback({ code: typed.code, details: typed.message });
      } else callback(null, response);
    };

    void (async () => {
      if (draining) throw new UnavailableError("detector is shutting down");
      release = limiter.admit();
      metrics.inflight.set(labels, limiter.inflight);
      const upload = await receiveUpload(call, maxBytes, controller.signal);
      metrics.receivedBytes.inc(labels, upload.bytes.length);
      const header = upload.header;
      const expected = mediaTypeOf[model.media];
      if (header.mediaType !== 0 && header.mediaType !== expected) {
        throw new InvalidMediaError(`${card.name} analyses ${model.media}, not media type ${header.mediaType}`);
      }
      const threshold = header.threshold ?? card.defaultThreshold;
      if (!(threshold >= 0 && threshold <= 1)) throw new InvalidMediaError(`threshold must be in [0, 1], got ${threshold}`);
      await ensureLoaded().catch((err: Error) => {
        throw new UnavailableError(`model failed to load: ${err.message}`);
      });

      const queuedAt = performance.now();
      const freeSlot = await limiter.acquire(controller.signal);
      const queueSeconds = (performance.now() - queuedAt) / 1000;
      metrics.queueDuration.observe(labels, queueSeconds);
      try {
        const ctx: PredictContext = {
          requestId: header.requestId,
          threshold,
          options: header.options,
          mimeType: header.mimeType,
          fileName: header.fileName,
          signal: controller.signal,
        };
        const decodeStart = performance.now();
        const input = await model.decode(upload.bytes, ctx);
        const decodeSeconds = (performance.now() - decodeStart) / 1000;
        metrics.decodeDuration.observe(labels, decodeSeconds);
        if (controller.signal.aborted) throw controller.signal.reason;
        const inferStart = performance.now();
        const result = await model.predict(input, ctx);
        const inferenceSeconds = (performance.now() - inferStart) / 1000;
        metrics.inferenceDuration.observe(labels, inferenceSeconds);
        if (controller.signal.aborted) throw controller.signal.reason;
        const response: PredictResponse = {
          modelName: card.name,
          modelVersion: card.version,
          probabilityFake: result.probabilityFake,
          prediction: result.prediction,
          threshold: result.threshold,
          timings: {
            queueSeconds,
            receiveSeconds: upload.receiveSeconds,
            decodeSeconds,
            inferenceSeconds,
            totalSeconds: (performance.now() - started) / 1000,
          },
          segments: result.segments.map((s) => ({
            kind: segmentKindOf[s.kind],
            index: s.index,
            startSeconds: s.startSeconds ?? 0,
            endSeconds: s.endSeconds ?? 0,
            box: s.box,
            probabilityFake: s.probabilityFake,
            track: s.track ?? 0,
          })),
          weightsKind: provenance ? weightsKindOf[provenance.kind] : 0,
          note: result.note,
          logit: result.logit,
        };
        return response;
      } finally {
        freeSlot();
      }
    })().then(
      (response) => finish("ok", undefined, response),
      (err: Error) => finish(grpc.status[toDetectorError(err).code] ?? "UNKNOWN", err),
    );
  };

  const getModelInfo: DetectorServiceServer["getModelInfo"] = (_call, callback) => {
    callback(null, { model: modelInfo() });
  };

  const server = new grpc.Server({
    // Chunks are small; the limit only guards against a single oversized message.
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
    "grpc.keepalive_permit_without_calls": 1,
  });
  server.addService(DetectorServiceService, { predict, getModelInfo } satisfies DetectorServiceServer);
  health.addToServer(server);
  const definitions = loadSync(join(protoRoot, "deepsafe/v1/detector.proto"), { includeDirs: [protoRoot] });
  new ReflectionService(definitions).addToServer(server);

  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  const metricsPortOption = options.metricsPort ?? envNumber("METRICS_PORT") ?? (port === 0 ? 0 : boundPort + 10000);
  let metricsServer: HttpServer | undefined;
  if (metricsPortOption >= 0) metricsServer = await metrics.listen(metricsPortOption, host);
  const metricsAddress = metricsServer?.address();
  const metricsPort = typeof metricsAddress === "object" && metricsAddress ? metricsAddress.port : undefined;
  log("info", "detector listening", { model: card.name, address: `${host}:${boundPort}`, metricsPort, load: loadMode });

  if (loadMode === "eager") {
    ensureLoaded().catch(() => {
      // Reported through health (NOT_SERVING) and as UNAVAILABLE on Predict; the process stays up.
    });
  } else {
    setReady(true);
  }

  const drainTimeoutMs = options.drainTimeoutMs ?? envNumber("DEEPSAFE_DRAIN_TIMEOUT_MS") ?? 30_000;
  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drained ??= (async () => {
      draining = true;
      setReady(false);
      log("info", "draining", { model: card.name, inflight: limiter.inflight });
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          log("warn", "drain timeout: cancelling in-flight calls", { model: card.name });
          server.forceShutdown();
          resolve();
        }, drainTimeoutMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await model.dispose();
      log("info", "stopped", { model: card.name });
    })();
    return drained;
  };

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      log("info", "signal received", { signal });
      drain().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
  }

  return { port: boundPort, metricsPort, drain };
}
