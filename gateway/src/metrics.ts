// Gateway metrics (prom-client, Prometheus naming: deepsafe_gateway_*_total / *_seconds), served on
// the gateway's own port at GET /metrics. One registry per gateway, so several gateways can run in
// one process (tests) without clashing.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The API method a detection came through. */
export type DetectMethod = "connect_detect" | "rest_predict" | "rest_detect";

export class GatewayMetrics {
  readonly registry = new Registry();
  /** One per detection: method, media type (or "unknown"), verdict (or "none"), outcome ("ok" or an error code). */
  readonly requests: Counter<"method" | "media_type" | "verdict" | "outcome">;
  readonly requestDuration: Histogram<"method" | "media_type" | "outcome">;
  readonly receivedBytes: Counter<"method" | "media_type">;
  readonly inflight: Gauge<"method">;
  /** Per detector, seen from the gateway: first byte forwarded to answer. */
  readonly detectorCallDuration: Histogram<"model" | "outcome">;
  readonly detectorErrors: Counter<"model" | "code">;
  /** Every REST request: route template and HTTP status. */
  readonly httpRequests: Counter<"route" | "status">;
  readonly httpDuration: Histogram<"route">;
  readonly loginAttempts: Counter<"outcome">;
  readonly historyOutboxDepth: Gauge;
  readonly historyWrites: Counter<"outcome">;

  constructor() {
    const registers = [this.registry];
    this.requests = new Counter({
      name: "deepsafe_gateway_requests_total",
      help: "Detections by API method, media type, verdict and outcome (ok or an error code).",
      labelNames: ["method", "media_type", "verdict", "outcome"],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "deepsafe_gateway_request_duration_seconds",
      help: "Detection latency from the first request byte to the verdict.",
      labelNames: ["method", "media_type", "outcome"],
      buckets: latencyBuckets,
      registers,
    });
    this.receivedBytes = new Counter({
      name: "deepsafe_gateway_received_bytes_total",
      help: "Media bytes received for detection.",
      labelNames: ["method", "media_type"],
      registers,
    });
    this.inflight = new Gauge({
      name: "deepsafe_gateway_inflight_requests",
      help: "Detections in progress.",
      labelNames: ["method"],
      registers,
    });
    this.detectorCallDuration = new Histogram({
      name: "deepsafe_gateway_detector_call_duration_seconds",
      help: "Per detector call latency seen from the gateway (upload forwarding plus the detector's work).",
      labelNames: ["model", "outcome"],
      buckets: latencyBuckets,
      registers,
    });
    this.detectorErrors = new Counter({
      name: "deepsafe_gateway_detector_errors_total",
      help: "Failed detector calls by gRPC status name.",
      labelNames: ["model", "code"],
      registers,
    });
    this.httpRequests = new Counter({
      name: "deepsafe_gateway_http_requests_total",
      help: "REST requests by route and HTTP status.",
      labelNames: ["route", "status"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "deepsafe_gateway_http_request_duration_seconds",
      help: "REST request latency by route.",
      labelNames: ["route"],
      buckets: latencyBuckets,
      registers,
    });
    this.loginAttempts = new Counter({
      name: "deepsafe_gateway_login_attempts_total",
      help: "POST /token attempts by outcome (ok, invalid, rate_limited, unavailable).",
      labelNames: ["outcome"],
      registers,
    });
    this.historyOutboxDepth = new Gauge({
      name: "deepsafe_gateway_history_outbox_depth",
      help: "History records waiting to be written to MongoDB.",
      registers,
    });
    this.historyWrites = new Counter({
      name: "deepsafe_gateway_history_writes_total",
      help: "History batch writes to MongoDB by outcome (ok or error).",
      labelNames: ["outcome"],
      registers,
    });
    collectDefaultMetrics({ register: this.registry, prefix: "deepsafe_gateway_process_" });
  }
}
