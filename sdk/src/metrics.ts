// Detector metrics in the spirit of Triton's (success/failure counts, queue vs compute time,
// model load time), Prometheus naming: deepsafe_detector_*_total / *_seconds.
import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class DetectorMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"model" | "version" | "outcome">;
  readonly requestDuration: Histogram<"model" | "version">;
  readonly queueDuration: Histogram<"model" | "version">;
  readonly decodeDuration: Histogram<"model" | "version">;
  readonly inferenceDuration: Histogram<"model" | "version">;
  readonly receivedBytes: Counter<"model" | "version">;
  readonly inflight: Gauge<"model" | "version">;
  readonly loadSeconds: Gauge<"model" | "version">;
  readonly batchSize: Histogram<"model" | "version">;
  readonly batchQueueDuration: Histogram<"model" | "version">;

  constructor(readonly labels: { model: string; version: string }) {
    const registers = [this.registry];
    const labelNames = ["model", "version"] as const;
    this.requests = new Counter({
      name: "deepsafe_detector_requests_total",
      help: "Predict calls by outcome (ok or a gRPC status name).",
      labelNames: [...labelNames, "outcome"],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "deepsafe_detector_request_duration_seconds",
      help: "Predict call duration from the first message to the answer.",
      labelNames,
      buckets: latencyBuckets,
      registers,
    });
    this.queueDuration = new Histogram({
      name: "deepsafe_detector_queue_duration_seconds",
      help: "Time a received request waited for an inference slot.",
      labelNames,
      buckets: latencyBuckets,
      registers,
    });
    this.decodeDuration = new Histogram({
      name: "deepsafe_detector_decode_duration_seconds",
      help: "Media decoding time.",
      labelNames,
      buckets: latencyBuckets,
      registers,
    });
    this.inferenceDuration = new Histogram({
      name: "deepsafe_detector_inference_duration_seconds",
      help: "Model compute time (predict).",
      labelNames,
      buckets: latencyBuckets,
      registers,
    });
    this.receivedBytes = new Counter({
      name: "deepsafe_detector_received_bytes_total",
      help: "Media bytes received.",
      labelNames,
      registers,
    });
    this.inflight = new Gauge({
      name: "deepsafe_detector_inflight_requests",
      help: "Admitted requests (uploading, queued or running).",
      labelNames,
      registers,
    });
    this.loadSeconds = new Gauge({
      name: "deepsafe_detector_model_load_seconds",
      help: "Seconds spent loading and warming the model.",
      labelNames,
      registers,
    });
    // Dynamic batching (when on): average batch = _sum / _count of the size histogram.
    this.batchSize = new Histogram({
      name: "deepsafe_detector_batch_size",
      help: "Items per batched model call.",
      labelNames,
      buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64],
      registers,
    });
    this.batchQueueDuration = new Histogram({
      name: "deepsafe_detector_batch_queue_duration_seconds",
      help: "Time an item waited in the batch queue before its model call started.",
      labelNames,
      buckets: [0.001, 0.0025, ...latencyBuckets],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: "deepsafe_detector_process_" });
  }

  /** Serve /metrics over plain HTTP. */
  listen(port: number, host: string): Promise<Server> {
    const server = createServer((req, res) => {
      if (req.url !== "/metrics") {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (body) => res.writeHead(200, { "content-type": this.registry.contentType }).end(body),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
