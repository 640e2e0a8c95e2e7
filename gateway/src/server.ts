// The public server: Connect, gRPC and gRPC-Web on one plaintext port, over HTTP/1.1 and h2c.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
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
  StackingState,
  StackingStatusSchema,
  type DetectRequest,
  type ModelStatus,
} from "@deepsafe/proto/es/gateway";
import { Accounts } from "./auth/accounts.js";
import { Authenticator, apiKeyTable } from "./auth/index.js";
import { PasswordHasher, type HashOptions } from "./auth/passwords.js";
import { LoginLimiter, RateLimiter } from "./auth/rate-limit.js";
import { resolveJwtSecret } from "./auth/secret.js";
import { UserStore } from "./auth/users.js";
import { accountRoutes } from "./connect/accounts.js";
import { callerOf, REMOTE_ADDRESS } from "./connect/common.js";
import { connectCors } from "./connect/cors.js";
import { historyRoutes } from "./connect/history.js";
import { malformedRequestIsInvalid, specEncodedGrpcMessages } from "./connect/wire-errors.js";
import { Database, redactUri } from "./db.js";
import { DetectorPool, type PoolOptions } from "./detectors.js";
import { Outbox } from "./history/outbox.js";
import { HistoryQueries } from "./history/queries.js";
import { HistoryStore, type HistoryRecord } from "./history/store.js";
import { GatewayMetrics } from "./metrics.js";
import { Pipeline } from "./pipeline.js";
import { MEDIA_NAMES, MEDIA_TYPE_OF, type Registry } from "./registry.js";
import { openApiDocument } from "./rest/openapi.js";
import { StackingEnsembles, defaultDetectors, type StackingState as StackingStateName } from "./stacking/ensembles.js";
import { ensemblesRoot } from "./stacking/artifact.js";
import { createRestHandler, refusedFromHeaders, requestIdFrom } from "./rest/router.js";

const VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Largest single request message accepted from clients (chunks are re-cut to 64 KiB anyway). */
const READ_MAX_BYTES = 4 * 1024 * 1024;

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** Where the gateway keeps its own files (JWT secret in development, history outbox). */
export const DEFAULT_DATA_DIR = join(fileURLToPath(new URL("../..", import.meta.url)), ".deepsafe", "gateway");

const STACKING_STATE: Record<StackingStateName, StackingState> = {
  not_deployed: StackingState.NOT_DEPLOYED,
  ready: StackingState.READY,
  mismatch: StackingState.MISMATCH,
  error: StackingState.ERROR,
};

export interface GatewayOptions {
  registry: Registry;
  /** Defaults to the registry's gateway.port; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Bound on how long close() lets in-flight Detect calls run. */
  shutdownGraceMs?: number;
  health?: PoolOptions;
  log?: (msg: string) => void;
  /**
   * MongoDB for accounts and history. Default: DEEPSAFE_MONGODB_URI, MONGODB_URI, then the
   * registry's history.mongodb_uri; null turns them off whatever the environment says.
   */
  mongodbUri?: string | null;
  /** JWT secret file (development) and history outbox. Default: DEEPSAFE_DATA_DIR or .deepsafe/gateway. */
  dataDir?: string;
  /** Environment used for secrets and production mode (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** argon2id parameters (tests may lower them). */
  passwordHashing?: HashOptions;
  /** History writer backoff bounds (tests shorten them). */
  historyRetryMs?: { min: number; max: number };
}

export interface Gateway {
  url: string;
  port: number;
  metrics: GatewayMetrics;
  /** History records not yet in MongoDB. */
  historyBacklog(): number;
  /** Wait until every queued history record is in MongoDB (false on timeout). */
  historyFlushed(timeoutMs: number): Promise<boolean>;
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
function healthResponse(pool: DetectorPool, stacking: StackingEnsembles) {
  const models = modelStatuses(pool);
  const mediaTypes = MEDIA_NAMES.map((name) => {
    const mine = models.filter((m) => m.mediaType === MEDIA_TYPE_OF[name]);
    const serving = mine.filter((m) => m.health === ModelHealth.SERVING).length;
    const status =
      serving === 0 ? HealthStatus.UNAVAILABLE : serving === mine.length ? HealthStatus.HEALTHY : HealthStatus.DEGRADED;
    const st = stacking.status(name, defaultDetectors(pool.states(), name));
    const stackingStatus = create(StackingStatusSchema, {
      state: STACKING_STATE[st.state],
      detail: st.detail,
      path: st.path,
      artifactId: st.artifactId,
      classifier: st.classifier,
      featureColumns: st.columns,
      createdAt: st.createdAt,
      datasetSha256: st.datasetSha256,
    });
    return create(MediaTypeHealthSchema, { mediaType: MEDIA_TYPE_OF[name], status, serving, configured: mine.length, stacking: stackingStatus });
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
  const env = options.env ?? process.env;
  const dataDir = options.dataDir ?? env.DEEPSAFE_DATA_DIR ?? DEFAULT_DATA_DIR;

  // Configuration problems first, before anything listens: a weak secret in production, bad API keys.
  const { secret, source } = resolveJwtSecret(dataDir, env);
  if (source === "generated") log(`auth: generated a development JWT secret in ${join(dataDir, "jwt-secret")}`);
  const authenticator = new Authenticator(
    {
      secret,
      issuer: registry.auth.issuer,
      audience: registry.auth.audience,
      minutes: registry.auth.token_minutes,
      clockToleranceS: registry.auth.clock_tolerance_s,
    },
    apiKeyTable(registry.auth, env),
  );

  const metrics = new GatewayMetrics();
  const mongodbUri =
    options.mongodbUri === null ? undefined : (options.mongodbUri ?? env.DEEPSAFE_MONGODB_URI ?? env.MONGODB_URI ?? registry.history.mongodb_uri);
  let db: Database | undefined;
  let users: UserStore | undefined;
  let history: HistoryStore | undefined;
  let outbox: Outbox<HistoryRecord> | undefined;
  if (mongodbUri) {
    db = new Database({ uri: mongodbUri, log });
    users = new UserStore(db);
    if (registry.history.enabled) {
      history = new HistoryStore(db);
      const store = history;
      outbox = new Outbox<HistoryRecord>({
        dir: join(dataDir, "history"),
        sink: async (batch) => {
          if (!db!.ready) throw new Error("MongoDB is not reachable");
          await store.insert(batch);
        },
        log,
        minRetryMs: options.historyRetryMs?.min,
        maxRetryMs: options.historyRetryMs?.max,
        onDepth: (n) => metrics.historyOutboxDepth.set(n),
        onWrite: (ok) => metrics.historyWrites.inc({ outcome: ok ? "ok" : "error" }),
      });
      await outbox.open();
      // Write the backlog as soon as MongoDB is (back) up rather than at the next backoff tick.
      db.whenReady().then(() => outbox?.wakeRetry());
      db.conn.on("reconnected", () => outbox?.wakeRetry());
    }
    db.start();
    log(`history: ${registry.history.enabled ? "records and accounts" : "accounts"} in MongoDB ${redactUri(mongodbUri)} (outbox ${join(dataDir, "history")})`);
  } else {
    log("history: off (no MongoDB configured: set MONGODB_URI; `npm start` starts a local FerretDB). Detection works; accounts and history answer 503.");
  }

  const pool = new DetectorPool(
    registry.detectors.filter((d) => d.enabled),
    { intervalMs: registry.gateway.health_interval_ms, ...options.health },
  );
  await pool.start();
  const stacking = new StackingEnsembles({ root: ensemblesRoot(registry.stacking.dir, env), intervalMs: registry.stacking.reload_interval_ms, log });
  await stacking.start();

  const shutdown = new AbortController();
  const pipeline = new Pipeline({ registry, pool, stacking, metrics, record: outbox ? (r) => outbox!.add(r) : undefined, log });

  // Accounts and history: one implementation behind REST and Connect/gRPC (AccountService, HistoryService).
  const accounts = new Accounts({
    users,
    hasher: new PasswordHasher(options.passwordHashing),
    tokens: authenticator.tokens,
    registrationOpen: registry.auth.registration,
    loginLimiter: new LoginLimiter({ burst: registry.auth.login_rate.burst, perMinute: registry.auth.login_rate.per_minute }),
    registerLimiter: new RateLimiter({ burst: 10, perMinute: 10 }),
    metrics,
  });
  const historyQueries = new HistoryQueries(history, registry.history.max_page);

  const routes = (router: ConnectRouter) => {
    accountRoutes(router, { accounts, auth: authenticator, log });
    historyRoutes(router, { history: historyQueries, auth: authenticator, log });
    return router.service(DeepSafeService, {
      async detect(requests: AsyncIterable<DetectRequest>, ctx: HandlerContext) {
        const principal = await callerOf(authenticator, ctx);
        if (!principal && !registry.auth.anonymous_detect) {
          throw new ConnectError("log in (AccountService.Login or POST /token) and send 'authorization: Bearer <token>', or send an API key (x-api-key)", Code.Unauthenticated);
        }
        const out = await pipeline.run({
          method: "connect_detect",
          requests,
          ctx,
          principal,
          requestId: ctx.requestHeader.get("x-request-id") ?? undefined,
        });
        return out.response;
      },
      listModels(req) {
        return create(ListModelsResponseSchema, { models: modelStatuses(pool, req.mediaType) });
      },
      getHealth() {
        return healthResponse(pool, stacking);
      },
    });
  };
  const connectHandler = connectNodeAdapter({
    routes,
    readMaxBytes: READ_MAX_BYTES,
    shutdownSignal: shutdown.signal,
    interceptors: [malformedRequestIsInvalid],
    // The client address, for the login and registration rate limits (as REST uses it).
    contextValues: (req) => createContextValues().set(REMOTE_ADDRESS, req.socket?.remoteAddress ?? "unknown"),
  });
  const rest = createRestHandler({
    registry,
    pool,
    stacking,
    pipeline,
    metrics,
    auth: authenticator,
    accounts,
    history: historyQueries,
    db,
    version: VERSION,
    openapi: openApiDocument(VERSION),
    shutdownSignal: shutdown.signal,
    log,
  });

  /** Connect, gRPC and gRPC-Web by path and content type; everything else is the REST API. */
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const requestId = requestIdFrom(req);
    res.setHeader("X-Request-ID", requestId);
    const type = String(req.headers["content-type"] ?? "");
    if (req.url?.startsWith("/deepsafe.v1.") || type.startsWith("application/grpc") || type.startsWith("application/connect+")) {
      if (connectCors(req, res, registry.rest.cors_origins)) return; // preflight answered
      req.headers["x-request-id"] = requestId; // the Detect handler uses it when the header carries no id
      if (type.startsWith("application/grpc") && !type.startsWith("application/grpc-web")) specEncodedGrpcMessages(res);
      connectHandler(req as http.IncomingMessage, res as http.ServerResponse);
      return;
    }
    rest(req, res, requestId);
  };

  // Uploads may legitimately take long: no per-request timeout on HTTP/1.1 (deadlines are per RPC).
  const h1 = http.createServer({ requestTimeout: 0 }, handler);
  // "Expect: 100-continue": invite the body only when it is not already known to be too large.
  h1.on("checkContinue", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!refusedFromHeaders(req, registry)) res.writeContinue();
    handler(req, res);
  });
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
      pipeline.draining = true;
      tcp.close(); // stop accepting
      const grace = options.shutdownGraceMs ?? registry.gateway.shutdown_grace_ms;
      if (pipeline.active > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([pipeline.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)))]);
        clearTimeout(timer);
      }
      // Past the bound: abort what is left (cancels its detector calls), give it a moment to answer.
      if (pipeline.active > 0) {
        shutdown.abort(new ConnectError("the gateway is shutting down", Code.Unavailable));
        await new Promise((r) => setTimeout(r, 200));
      }
      for (const s of sessions) s.close();
      h1.closeAllConnections();
      await new Promise((r) => setTimeout(r, 50));
      for (const s of sockets) s.destroy();
      pool.close();
      await stacking.close();
      // Records MongoDB did not take yet stay in the outbox file for the next start.
      await outbox?.close(db?.ready ? 2000 : 0);
      await db?.close();
    })());

  return {
    url,
    port,
    metrics,
    close,
    historyBacklog: () => outbox?.depth ?? 0,
    historyFlushed: (timeoutMs: number) => outbox?.drained(timeoutMs) ?? Promise.resolve(true),
  };
}
