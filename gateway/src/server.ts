// The public server: Connect, gRPC and gRPC-Web on one plaintext port, over HTTP/1.1 and h2c.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { MediaType, WeightsKind } from "@deepsafe/proto/es/common";
import {
  DeepSafeService,
  GetHealthResponseSchema,
  HealthStatus,
  ListModelsResponseSchema,
  MediaTypeHealthSchema,
  ModelHealth,
  ModelStatusSchema,
  type DetectRequest,
  type ModelStatus,
} from "@deepsafe/proto/es/gateway";
import { detect } from "./detect.js";
import { DetectorPool, type PoolOptions } from "./detectors.js";
import { MEDIA_NAMES, MEDIA_TYPE_OF, type Registry } from "./registry.js";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Largest single request message accepted from clients (chunks are re-cut to 64 KiB anyway). */
const READ_MAX_BYTES = 4 * 1024 * 1024;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export interface GatewayOptions {
  registry: Registry;
  /** Defaults to the registry's gateway.port; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Bound on how long close() lets in-flight Detect calls run. */
  shutdownGraceMs?: number;
  health?: PoolOptions;
  log?: (msg: string) => void;
}

export interface Gateway {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight Detect calls finish (bounded), then closes everything. */
  close(): Promise<void>;
}

function modelStatuses(pool: DetectorPool, filter = MediaType.UNSPECIFIED): ModelStatus[] {
  return pool
    .states()
    .filter((s) => filter === MediaType.UNSPECIFIED || MEDIA_TYPE_OF[s.config.media_type] === filter)
    .map((s) =>
      create(ModelStatusSchema, {
        name: s.config.name,
        mediaType: MEDIA_TYPE_OF[s.config.media_type],
        address: s.config.address,
        health: s.health,
        healthDetail: s.detail,
        info: s.info,
        default: s.config.default,
        votes: s.info?.weights?.kind !== WeightsKind.RANDOM_FIXTURE,
      }),
    );
}

/** Healthy: every configured detector serves; unavailable: none does; degraded in between. */
function healthResponse(pool: DetectorPool) {
  const models = modelStatuses(pool);
  const mediaTypes = MEDIA_NAMES.map((name) => {
    const mine = models.filter((m) => m.mediaType === MEDIA_TYPE_OF[name]);
    const serving = mine.filter((m) => m.health === ModelHealth.SERVING).length;
    const status =
      serving === 0 ? HealthStatus.UNAVAILABLE : serving === mine.length ? HealthStatus.HEALTHY : HealthStatus.DEGRADED;
    return create(MediaTypeHealthSchema, { mediaType: MEDIA_TYPE_OF[name], status, serving, configured: mine.length });
  });
  const serving = models.filter((m) => m.health === ModelHealth.SERVING).length;
  const status =
    serving === 0 ? HealthStatus.UNAVAILABLE : serving === models.length ? HealthStatus.HEALTHY : HealthStatus.DEGRADED;
  return create(GetHealthResponseSchema, { status, mediaTypes, models, version: VERSION });
}

/** Hand each raw TCP connection to the HTTP/2 or HTTP/1.1 server by its first bytes. */
function routeConnection(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let head: Buffer = Buffer.alloc(0);
  const onSilent = () => socket.destroy(); // connections that never speak do not pile up
  const onData = (data: Buffer) => {
    head = head.length ? Buffer.concat([head, data]) : data;
    const n = Math.min(head.length, H2_PREFACE.length);
    const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && head.length < H2_PREFACE.length) return; // could still be either: wait
    socket.off("data", onData);
    socket.off("timeout", onSilent);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(head); // the chosen server reads these bytes again
    if (isH2) {
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
      socket.resume();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => socket.destroy()); // a reset before routing must not crash us
  socket.setTimeout(30_000, onSilent);
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { registry } = options;
  const log = options.log ?? ((m: string) => console.log(m));
  const pool = new DetectorPool(
    registry.detectors.filter((d) => d.enabled),
    { intervalMs: registry.gateway.health_interval_ms, ...options.health },
  );
  await pool.start();

  const shutdown = new AbortController();
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const routes = (router: ConnectRouter) =>
    router.service(DeepSafeService, {
      async detect(requests: AsyncIterable<DetectRequest>, ctx: HandlerContext) {
        if (draining) throw new ConnectError("the gateway is shutting down", Code.Unavailable);
        inFlight++;
        try {
          return await detect(requests, ctx, { registry, pool });
        } finally {
          if (--inFlight === 0) idle?.();
        }
      },
      listModels(req) {
        return create(ListModelsResponseSchema, { models: modelStatuses(pool, req.mediaType) });
      },
      getHealth() {
        return healthResponse(pool);
      },
    });
  const handler = connectNodeAdapter({ routes, readMaxBytes: READ_MAX_BYTES, shutdownSignal: shutdown.signal });

  // Uploads may legitimately take long: no per-request timeout on HTTP/1.1 (deadlines are per RPC).
  const h1 = http.createServer({ requestTimeout: 0 }, handler);
  const h2 = http2.createServer({}, handler);
  h2.on("sessionError", () => {});
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    routeConnection(socket, h1, h2);
  });

  const host = options.host ?? registry.gateway.host;
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.port ?? registry.gateway.port, host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  tcp.on("error", (err) => log(`gateway: ${err.message}`));
  const port = (tcp.address() as net.AddressInfo).port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      tcp.close(); // stop accepting
      const grace = options.shutdownGraceMs ?? registry.gateway.shutdown_grace_ms;
      if (inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          idle = resolve;
          timer = setTimeout(resolve, grace);
        });
        clearTimeout(timer);
      }
      // Past the bound: abort what is left (cancels its detector calls), give it a moment to answer.
      if (inFlight > 0) {
        shutdown.abort(new ConnectError("the gateway is shutting down", Code.Unavailable));
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const s of sessions) s.close();
      h1.closeAllConnections();
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      pool.close();
    })());

  return { url, port, close };
}
