// Long-lived gRPC clients for the detectors, and a health monitor that polls each detector's
// grpc.health.v1 status on its own connection (so a long upload or inference never delays it)
// and caches its ModelInfo once it serves.
import { isIP } from "node:net";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { fromBinary } from "@bufbuild/protobuf";
import { protoPath as healthProtoPath } from "grpc-health-check";
import * as det from "@deepsafe/proto/grpc/detector";
import { ModelInfoSchema, type ModelInfo } from "@deepsafe/proto/es/detector";
import { ModelHealth } from "@deepsafe/proto/es/gateway";
import type { DetectorConfig } from "./registry.js";

/** Chunks are forwarded to detectors in pieces of at most this size. */
export const CHUNK_BYTES = 64 * 1024;

/** Name the detectors register in grpc.health.v1. */
export const DETECTOR_SERVICE = "deepsafe.v1.DetectorService";

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // Chunks plus the header (options map, file name): ample headroom, still far below 4 MiB.
  "grpc.max_send_message_length": CHUNK_BYTES + 64 * 1024,
  // Responses may carry many segment scores (video frames).
  "grpc.max_receive_message_length": 16 * 1024 * 1024,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
  // A restarted detector is picked up within ~2 s instead of grpc-js's default 120 s backoff.
  "grpc.initial_reconnect_backoff_ms": 250,
  "grpc.max_reconnect_backoff_ms": 2_000,
  // Own connection per client: recreating a client really starts a fresh connection.
  "grpc.use_local_subchannel_pool": 1,
  // Balance per call over every address the detector's host resolves to (Kubernetes: a headless
  // Service, one A record per ready pod). L4 balancing would pin this long-lived HTTP/2 connection
  // to one pod; round_robin keeps a subchannel to each and rotates calls between them.
  "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
};

/** The channel target for a registry address: grpc-js' DNS resolver, so every A/AAAA record is used. */
export function detectorTarget(address: string): string {
  return `dns:///${address}`;
}

interface HealthCheckResponse {
  status: "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";
}
interface HealthClient extends grpc.Client {
  check(
    req: { service: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: HealthCheckResponse) => void,
  ): grpc.ClientUnaryCall;
}
const HealthClient = (
  grpc.loadPackageDefinition(
    protoLoader.loadSync(healthProtoPath, { keepCase: true, enums: String, defaults: true }),
  ) as unknown as { grpc: { health: { v1: { Health: new (addr: string, creds: grpc.ChannelCredentials, opts?: grpc.ChannelOptions) => HealthClient } } } }
).grpc.health.v1.Health;

export interface DetectorState {
  config: DetectorConfig;
  health: ModelHealth;
  detail: string;
  /** From GetModelInfo, fetched when the detector starts serving. */
  info?: ModelInfo | undefined;
  /** False until the first health check finished. */
  checked: boolean;
}

interface Entry extends DetectorState {
  client: det.DetectorServiceClient;
  healthClient: HealthClient;
  checking: boolean;
  /** Consecutive health-check timeouts: a busy detector is not declared dead at once. */
  slowChecks: number;
  infoFetchedAt: number;
  /** When the current client (channel) was created: see refreshIfDue. */
  clientSince: number;
}

export interface PoolOptions {
  intervalMs?: number;
  checkTimeoutMs?: number;
  /** ModelInfo is refreshed this often even without a visible restart. */
  infoRefreshMs?: number;
  /** A detector addressed by host name gets a fresh channel this often (new pods are resolved). */
  dnsRefreshMs?: number;
}

/** Status name of a gRPC error code, e.g. 14 -> "UNAVAILABLE". */
export function statusName(code: number | undefined): string {
  return (code !== undefined && grpc.status[code]) || "UNKNOWN";
}

function toEsModelInfo(info: det.ModelInfo): ModelInfo {
  return fromBinary(ModelInfoSchema, det.ModelInfo.encode(info).finish());
}

export class DetectorPool {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly checkTimeoutMs: number;
  private readonly infoRefreshMs: number;
  private readonly dnsRefreshMs: number;
  /** Replaced clients, closed once the calls they carry are past their deadline. */
  private readonly retiring = new Set<det.DetectorServiceClient>();

  constructor(detectors: DetectorConfig[], opts: PoolOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.checkTimeoutMs = opts.checkTimeoutMs ?? Math.min(1000, this.intervalMs);
    this.infoRefreshMs = opts.infoRefreshMs ?? 30_000;
    this.dnsRefreshMs = opts.dnsRefreshMs ?? 30_000;
    for (const config of detectors) {
      this.entries.set(config.name, {
        config,
        health: ModelHealth.UNSPECIFIED,
        detail: "not checked yet",
        checked: false,
        client: newClient(config.address),
        healthClient: new HealthClient(detectorTarget(config.address), grpc.credentials.createInsecure(), CHANNEL_OPTIONS),
        checking: false,
        slowChecks: 0,
        infoFetchedAt: 0,
        clientSince: Date.now(),
      });
    }
  }

  /** Runs the first round of checks (so the first requests see real health), then polls. */
  async start(): Promise<void> {
    await this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.intervalMs);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    for (const old of this.retiring) old.close();
    this.retiring.clear();
    for (const e of this.entries.values()) {
      e.client.close();
      e.healthClient.close();
    }
  }

  /**
   * The channel for a call. One in reconnect backoff (its detector dropped the connection: restarted,
   * or died and health has not noticed yet) is replaced first, so the call tries a fresh connection
   * rather than failing at once under round_robin; a detector that is really gone still fails fast.
   */
  client(name: string): det.DetectorServiceClient {
    const e = this.entries.get(name);
    if (!e) throw new Error(`unknown detector ${name}`);
    if (e.client.getChannel().getConnectivityState(false) === grpc.connectivityState.TRANSIENT_FAILURE) this.replaceClient(e);
    return e.client;
  }

  state(name: string): DetectorState | undefined {
    return this.entries.get(name);
  }

  states(): DetectorState[] {
    return [...this.entries.values()];
  }

  checkAll(): Promise<void> {
    return Promise.all([...this.entries.values()].map((e) => this.check(e))).then(() => undefined);
  }

  private async check(e: Entry): Promise<void> {
    if (e.config.unavailable) {
      // Not started by the launcher: report why instead of polling a port nobody listens on.
      e.health = ModelHealth.UNREACHABLE;
      e.detail = `not running: ${e.config.unavailable}`;
      e.checked = true;
      return;
    }
    if (e.checking) return; // previous check still pending: its deadline will end it
    e.checking = true;
    try {
      const before = e.health;
      const res = await new Promise<{ err: grpc.ServiceError | null; status?: string }>((resolve) => {
        e.healthClient.check({ service: DETECTOR_SERVICE }, { deadline: Date.now() + this.checkTimeoutMs }, (err, r) =>
          resolve({ err, status: r?.status }),
        );
      });
      if (!res.err) {
        e.slowChecks = 0;
        e.health = res.status === "SERVING" ? ModelHealth.SERVING : ModelHealth.NOT_SERVING;
        e.detail = res.status === "SERVING" ? "" : `health: ${res.status}`;
      } else if (res.err.code === grpc.status.NOT_FOUND) {
        e.slowChecks = 0;
        e.health = ModelHealth.NOT_SERVING;
        e.detail = `health: ${DETECTOR_SERVICE} not registered`;
      } else if (res.err.code === grpc.status.DEADLINE_EXCEEDED && ++e.slowChecks < 3 && e.checked) {
        // A detector busy with inference may answer late: keep the last status for a while.
        e.detail = "health check slow";
      } else {
        e.health = ModelHealth.UNREACHABLE;
        e.detail = `${statusName(res.err.code)}: ${(res.err.details || res.err.message).replace(/\.? Resolution note: *$/, "")}`;
      }
      e.checked = true;

      if (e.health === ModelHealth.SERVING) {
        const restarted = before !== ModelHealth.SERVING;
        if (restarted) this.renewClientUnlessReady(e);
        this.refreshIfDue(e);
        if (restarted || !e.info || Date.now() - e.infoFetchedAt > this.infoRefreshMs) await this.fetchInfo(e);
      }
    } catch {
      // Never let a health check take the gateway down.
    } finally {
      e.checking = false;
    }
  }

  /**
   * A detector that came back (restarted, or ready after loading) gets a fresh channel unless the
   * current one is connected: round_robin fails calls at once while its subchannels sit in reconnect
   * backoff, even though the detector already answers health checks on the other channel.
   */
  private renewClientUnlessReady(e: Entry): void {
    if (e.client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY) this.replaceClient(e);
  }

  /**
   * grpc-js resolves a name again only when a connection drops, so pods added by autoscaling would
   * never get a call: a detector addressed by host name gets a fresh channel every dnsRefreshMs.
   */
  private refreshIfDue(e: Entry): void {
    const host = e.config.address.slice(0, e.config.address.lastIndexOf(":")).replace(/^\[(.*)\]$/, "$1");
    if (isIP(host) || Date.now() - e.clientSince < this.dnsRefreshMs) return;
    this.replaceClient(e);
  }

  /** A new channel, connecting now; the old one keeps its in-flight calls until past their deadline. */
  private replaceClient(e: Entry): void {
    const old = e.client;
    e.client = newClient(e.config.address);
    e.client.getChannel().getConnectivityState(true); // connect now, not on the next call
    e.clientSince = Date.now();
    this.retiring.add(old);
    setTimeout(() => {
      this.retiring.delete(old);
      old.close();
    }, e.config.deadline_ms + 1000).unref();
  }

  private fetchInfo(e: Entry): Promise<void> {
    return new Promise((resolve) => {
      e.client.getModelInfo({}, new grpc.Metadata(), { deadline: Date.now() + 2 * this.checkTimeoutMs + 1000 }, (err, res) => {
        if (!err && res.model) {
          e.info = toEsModelInfo(res.model);
          e.infoFetchedAt = Date.now();
        }
        resolve();
      });
    });
  }
}

function newClient(address: string): det.DetectorServiceClient {
  return new det.DetectorServiceClient(detectorTarget(address), grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}
