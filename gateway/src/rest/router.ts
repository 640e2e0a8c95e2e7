// The REST API beside Connect on the gateway's port: the original DeepSafe's paths and field names
// (so its users' scripts keep working), with its mistakes fixed — media type from the bytes, 415 for
// unsupported media, 413 the moment an upload crosses the limit, 422 for invalid fields, 400 for bad
// base64, a request id on every response and every error, per-user history.
// Detection goes through the same Pipeline as Connect's Detect, so both behave identically.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { constants as h2constants } from "node:http2";
import { performance } from "node:perf_hooks";
import { create, toJson } from "@bufbuild/protobuf";
import { createHandlerContext } from "@connectrpc/connect";
import { WeightsKind } from "@deepsafe/proto/es/common";
import { DeepSafeService, DetectHeaderSchema, DetectRequestSchema, DetectResponseSchema, EnsembleMethod, ModelHealth, type DetectRequest } from "@deepsafe/proto/es/gateway";
import { AuthError, type Authenticator, type Principal } from "../auth/index.js";
import type { Accounts } from "../auth/accounts.js";
import type { Database } from "../db.js";
import type { DetectorPool } from "../detectors.js";
import type { HistoryQueries } from "../history/queries.js";
import type { DetectMethod, GatewayMetrics } from "../metrics.js";
import type { Pipeline } from "../pipeline.js";
import { ENSEMBLE_OF, MEDIA_NAMES, MEDIA_TYPE_OF, type MediaName, type Registry } from "../registry.js";
import { type StackingEnsembles, defaultDetectors } from "../stacking/ensembles.js";
import { compatible, sniff, SNIFF_BYTES } from "../sniff.js";
import { contentLength, mediaTypeOf, readBody, readForm, type Req } from "./body.js";
import { detectJson, predictJson } from "./convert.js";
import {
  HttpError,
  badRequest,
  fromZod,
  invalidField,
  notFound,
  outcomeOf,
  toHttpError,
  tooLarge,
  unauthorized,
  unsupportedMedia,
} from "./errors.js";
import { openFilePart } from "./multipart.js";
import { nextWithin } from "../upload-idle.js";
import { docsAsset } from "./openapi.js";
import * as S from "./schemas.js";

type Res = ServerResponse | Http2ServerResponse;

export interface RestDeps {
  registry: Registry;
  pool: DetectorPool;
  /** Deployed stacking meta-learners: `stacking_ensemble_loaded` in / and /health. */
  stacking?: StackingEnsembles | undefined;
  pipeline: Pipeline;
  metrics: GatewayMetrics;
  auth: Authenticator;
  /** Accounts and history, shared with Connect's AccountService / HistoryService (503 without MongoDB). */
  accounts: Accounts;
  history: HistoryQueries;
  db?: Database | undefined;
  version: string;
  openapi: object;
  shutdownSignal: AbortSignal;
  log: (msg: string) => void;
}

interface Ctx {
  req: Req;
  res: Res;
  url: URL;
  requestId: string;
  deps: RestDeps;
  params: Record<string, string>;
  /** Set by the detection routes: counted in deepsafe_gateway_requests_total even when refused before the pipeline. */
  detection?: { method: DetectMethod; entered: boolean; media: string };
}

type Handler = (ctx: Ctx) => Promise<void> | void;

interface Route {
  method: string;
  /** Route template, also the metrics label. */
  path: string;
  pattern: RegExp;
  keys: string[];
  handler: Handler;
}

/** Accept value asking POST /detect for the typed deepsafe.v1.DetectResponse in proto3 JSON. */
export const TYPED_DETECT_RESPONSE = "application/vnd.deepsafe.v1.detect-response+json";

/** Bytes a multipart body may add around the file (boundaries, part headers, small fields). */
const MULTIPART_SLACK = 256 * 1024;
/** Pieces /predict's decoded bytes are fed to the pipeline in (the pipeline re-cuts to 64 KiB). */
const FEED_BYTES = 256 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A valid incoming X-Request-ID, else a new UUID. */
export function requestIdFrom(req: Req): string {
  const v = req.headers["x-request-id"];
  return typeof v === "string" && REQUEST_ID.test(v) ? v : randomUUID();
}

// ---------- responses ----------

function isH2(req: Req): boolean {
  return req.httpVersionMajor === 2;
}

function send(ctx: Ctx, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const { res } = ctx;
  if (res.headersSent) {
    res.end();
    return;
  }
  const bytes = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Content-Length", String(bytes.length));
  res.setHeader("Cache-Control", "no-store");
  res.end(bytes);
}

function sendRaw(ctx: Ctx, status: number, type: string, bytes: Buffer | string, headers: Record<string, string> = {}): void {
  const { res } = ctx;
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("Content-Type", type);
  res.setHeader("Content-Length", String(Buffer.byteLength(bytes)));
  res.end(bytes);
}

/**
 * Answer before the request body was read to its end (413, 415, …): tell the client to stop
 * (Connection: close on HTTP/1.1, RST_STREAM NO_ERROR on HTTP/2), discard what still arrives for a
 * moment so the answer is not lost to a TCP reset, then cut the connection.
 */
function stopReading(ctx: Ctx): void {
  const { req, res } = ctx;
  if ((req as { complete?: boolean }).complete) return;
  if (!isH2(req) && !res.headersSent) res.setHeader("Connection", "close");
  req.on("data", () => {});
  req.resume();
  res.once("finish", () => {
    if (isH2(req)) {
      const stream = (req as Http2ServerRequest).stream;
      setTimeout(() => stream.close(h2constants.NGHTTP2_NO_ERROR), 100).unref();
      return;
    }
    const socket = (req as IncomingMessage).socket;
    const timer = setTimeout(() => socket.destroy(), 2000);
    timer.unref();
    req.once("end", () => clearTimeout(timer));
  });
}

function sendError(ctx: Ctx, err: HttpError): void {
  stopReading(ctx);
  send(ctx, err.status, { detail: err.detail, code: err.code, request_id: ctx.requestId }, err.headers);
}

// ---------- helpers ----------

async function identify(ctx: Ctx): Promise<Principal | undefined> {
  try {
    return await ctx.deps.auth.identify((name) => {
      const v = ctx.req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    });
  } catch (err) {
    if (err instanceof AuthError) throw unauthorized(err.message);
    throw err;
  }
}

async function requirePrincipal(ctx: Ctx): Promise<Principal> {
  try {
    return await ctx.deps.auth.require((name) => {
      const v = ctx.req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    });
  } catch (err) {
    if (err instanceof AuthError) throw unauthorized(err.message);
    throw err;
  }
}

async function detectPrincipal(ctx: Ctx): Promise<Principal | undefined> {
  const p = await identify(ctx);
  if (!p && !ctx.deps.registry.auth.anonymous_detect) throw unauthorized("log in (POST /token) or send an API key (X-API-Key) to run detections");
  return p;
}

function enabledModels(registry: Registry): Map<string, MediaName> {
  return new Map(registry.detectors.filter((d) => d.enabled).map((d) => [d.name, d.media_type]));
}

function checkModels(models: string[] | undefined, registry: Registry, loc: (string | number)[]): void {
  const known = enabledModels(registry);
  for (const m of models ?? []) {
    if (!known.has(m)) throw invalidField(loc, `unknown model "${m}"; valid models: ${[...known.keys()].join(", ") || "(none configured)"}`);
  }
}

/** The media type to run: the sniffed one, or another the container may hold if the requested models need it. */
function pickMedia(sniffed: { media: MediaName; alsoPossible: MediaName[] }, models: string[] | undefined, registry: Registry, loc: (string | number)[]): MediaName {
  if (!models?.length) return sniffed.media;
  const known = enabledModels(registry);
  const wanted = new Set(models.map((m) => known.get(m)!));
  const candidates = [sniffed.media, ...sniffed.alsoPossible];
  const media = candidates.find((c) => wanted.size === 1 && wanted.has(c));
  if (!media) {
    const mismatch = models.find((m) => !candidates.includes(known.get(m)!)) ?? models[0]!;
    throw invalidField(loc, `model "${mismatch}" analyses ${known.get(mismatch)}, but the file is ${sniffed.media}`);
  }
  return media;
}

const SUPPORTED = "JPEG, PNG, GIF, WebP, TIFF, BMP, HEIF/AVIF, MP4/MOV, Matroska/WebM, AVI, WAV, FLAC, OGG, MP3, AAC, M4A";

function unrecognised(claimed: string): HttpError {
  return unsupportedMedia(`the bytes are not a supported image, video or audio format${claimed ? ` (the client said ${claimed})` : ""}; supported: ${SUPPORTED}`);
}

/** Strict base64 (standard or URL-safe alphabet, optional padding, whitespace and a data: URL prefix allowed). */
export function decodeBase64Strict(text: string): Buffer | undefined {
  let s = text;
  const comma = s.startsWith("data:") ? s.indexOf(",") : -1;
  if (comma >= 0) {
    if (!/;base64$/i.test(s.slice(0, comma))) return undefined;
    s = s.slice(comma + 1);
  }
  if (/[\s]/.test(s)) s = s.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) && !/^[A-Za-z0-9_-]*={0,2}$/.test(s)) return undefined;
  const body = s.replace(/=+$/, "");
  if (body.length % 4 === 1) return undefined;
  if (s.length !== body.length && s.length % 4 !== 0) return undefined;
  return Buffer.from(body, "base64");
}

function handlerContext(ctx: Ctx) {
  const gone = new AbortController();
  ctx.res.once("close", () => {
    if (!ctx.res.writableFinished) gone.abort();
  });
  return createHandlerContext({
    service: DeepSafeService,
    method: DeepSafeService.method.detect,
    protocolName: "rest",
    requestMethod: ctx.req.method ?? "POST",
    url: ctx.url.toString(),
    requestSignal: gone.signal,
    shutdownSignal: ctx.deps.shutdownSignal,
  });
}

const chunkMsg = (value: Uint8Array): DetectRequest => create(DetectRequestSchema, { payload: { case: "chunk", value } });

// ---------- detection ----------

async function predict(ctx: Ctx): Promise<void> {
  const { deps } = ctx;
  const detection = (ctx.detection = { method: "rest_predict" as const, entered: false as boolean, media: "unknown" });
  const principal = await detectPrincipal(ctx);
  const type = mediaTypeOf(ctx.req);
  if (type && type !== "application/json") throw unsupportedMedia(`POST /predict expects application/json, got ${type}; upload files with POST /detect`);
  const raw = await readBody(ctx.req, deps.registry.rest.max_json_bytes);
  let data: unknown;
  try {
    data = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new HttpError(422, "validation_error", [{ loc: ["body"], msg: "malformed JSON", type: "json_invalid" }]);
  }
  const parsed = S.PredictRequest.safeParse(data);
  if (!parsed.success) throw fromZod(parsed.error, "body");
  const body = parsed.data;
  checkModels(body.models, deps.registry, ["body", "models"]);
  const field = `${body.media_type}_data` as const;
  const bytes = decodeBase64Strict(body[field]!);
  if (!bytes) throw badRequest(`${field} is not valid base64`, "invalid_base64");
  if (bytes.length === 0) throw badRequest(`${field} is empty`, "empty_media");
  const sniffed = sniff(bytes.subarray(0, SNIFF_BYTES));
  if (!sniffed) throw unrecognised("");
  if (!compatible(sniffed, MEDIA_TYPE_OF[body.media_type])) {
    throw invalidField(["body", "media_type"], `media_type is ${body.media_type}, but the bytes are ${sniffed.mime}`);
  }
  const media = body.media_type;
  detection.media = media;
  pickMedia({ media, alsoPossible: [] }, body.models, deps.registry, ["body", "models"]);
  const limit = deps.registry.media[media].max_upload_bytes;
  if (bytes.length > limit) throw tooLarge(`${media} of ${bytes.length} bytes exceeds the ${limit}-byte limit`);

  const header = create(DetectHeaderSchema, {
    requestId: ctx.requestId,
    mediaType: MEDIA_TYPE_OF[media],
    mimeType: sniffed.mime,
    declaredSize: BigInt(bytes.length),
    ensembleMethod: body.ensemble_method ? ENSEMBLE_OF[body.ensemble_method] : EnsembleMethod.UNSPECIFIED,
    threshold: body.threshold,
    models: body.models ?? [],
    includeRandomWeights: body.include_random_weights ?? false,
  });
  async function* requests(): AsyncGenerator<DetectRequest> {
    yield create(DetectRequestSchema, { payload: { case: "header", value: header } });
    for (let o = 0; o < bytes!.length; o += FEED_BYTES) yield chunkMsg(bytes!.subarray(o, o + FEED_BYTES));
  }
  detection.entered = true;
  const hctx = handlerContext(ctx);
  try {
    const out = await deps.pipeline.run({ method: "rest_predict", requests: requests(), ctx: hctx, principal, requestId: ctx.requestId });
    send(ctx, 200, predictJson(out.response));
  } finally {
    hctx.abort(); // like Connect: the signal fires when the call is done (frees its listeners)
  }
}

async function detectUpload(ctx: Ctx): Promise<void> {
  const { deps, req } = ctx;
  const detection = (ctx.detection = { method: "rest_detect" as const, entered: false as boolean, media: "unknown" });
  const principal = await detectPrincipal(ctx);
  const limits = MEDIA_NAMES.map((m) => deps.registry.media[m].max_upload_bytes);
  const maxAll = Math.max(...limits);
  const declared = contentLength(req);
  if (declared !== undefined && declared > maxAll + MULTIPART_SLACK) throw tooLarge(`upload of ${declared} bytes exceeds the ${maxAll}-byte limit`);

  const idleMs = deps.registry.gateway.upload_idle_timeout_ms;
  const part = await nextWithin(openFilePart(req, { maxFileBytes: maxAll, idleMs }), idleMs);
  try {
    const last = (name: string) => part.fields[name]?.at(-1) ?? ctx.url.searchParams.get(name) ?? undefined;
    const modelValues = [...(part.fields.models ?? []), ...ctx.url.searchParams.getAll("models")];
    const rawFields = {
      threshold: last("threshold") || undefined,
      ensemble_method: last("ensemble_method") || undefined,
      models: modelValues.length ? modelValues.join(",") : undefined,
      include_random_weights: last("include_random_weights") || undefined,
    };
    const parsed = S.DetectFields.safeParse(rawFields);
    if (!parsed.success) throw fromZod(parsed.error, "form");
    const fields = parsed.data;
    checkModels(fields.models, deps.registry, ["form", "models"]);

    // The first bytes decide the media type (the file name and the client's MIME type are claims).
    const head: Buffer[] = [];
    let received = 0;
    let ended = false;
    while (received < SNIFF_BYTES) {
      const n = await part.chunks.next();
      if (n.done) {
        ended = true;
        break;
      }
      head.push(n.value);
      received += n.value.length;
    }
    if (received === 0) throw badRequest("the file is empty", "empty_media");
    const sniffed = sniff(Buffer.concat(head).subarray(0, SNIFF_BYTES));
    if (!sniffed) throw unrecognised([part.mimeType, part.fileName].filter(Boolean).join(", "));
    const media = pickMedia(sniffed, fields.models, deps.registry, ["form", "models"]);
    detection.media = media;
    const limit = deps.registry.media[media].max_upload_bytes;
    if (declared !== undefined && declared > limit + MULTIPART_SLACK) throw tooLarge(`upload of ${declared} bytes exceeds the ${limit}-byte limit for ${media}`);
    if (received > limit) throw tooLarge(`${media} exceeds the ${limit}-byte limit`);

    const header = create(DetectHeaderSchema, {
      requestId: ctx.requestId,
      mediaType: MEDIA_TYPE_OF[media],
      mimeType: sniffed.mime,
      fileName: part.fileName.slice(0, 512),
      ensembleMethod: fields.ensemble_method ? ENSEMBLE_OF[fields.ensemble_method] : EnsembleMethod.UNSPECIFIED,
      threshold: fields.threshold,
      models: fields.models ?? [],
      includeRandomWeights: fields.include_random_weights ?? false,
    });
    async function* requests(): AsyncGenerator<DetectRequest> {
      yield create(DetectRequestSchema, { payload: { case: "header", value: header } });
      for (const c of head) yield chunkMsg(c);
      while (!ended) {
        const n = await part.chunks.next();
        if (n.done) break;
        received += n.value.length;
        if (received > limit) throw tooLarge(`${media} upload crossed the ${limit}-byte limit`);
        yield chunkMsg(n.value);
      }
    }
    detection.entered = true;
    const hctx = handlerContext(ctx);
    try {
      const out = await deps.pipeline.run({ method: "rest_detect", requests: requests(), ctx: hctx, principal, requestId: ctx.requestId });
      // Browsers cannot client-stream Detect: the dashboard uploads here and asks for the typed
      // deepsafe.v1.DetectResponse (proto3 JSON, with segments) instead of the original's shape.
      const typed = String(req.headers.accept ?? "").includes(TYPED_DETECT_RESPONSE);
      send(ctx, 200, typed ? toJson(DetectResponseSchema, out.response) : detectJson(out.response, { size: out.size, sha256: out.sha256 }));
    } finally {
      hctx.abort();
    }
  } catch (err) {
    part.abandon();
    throw err;
  }
}

// ---------- service info ----------

function root(ctx: Ctx): void {
  const { registry } = ctx.deps;
  const summary: Record<string, string[]> = {};
  for (const d of registry.detectors.filter((x) => x.enabled)) (summary[d.media_type] ??= []).push(d.name);
  const body: S.RootInfoT = {
    name: "DeepSafe API",
    version: ctx.deps.version,
    message: "Deepfake detection for images, video and audio. POST /detect (multipart file, streamed) or /predict (JSON, base64).",
    configured_media_types: MEDIA_NAMES.filter((m) => summary[m]?.length),
    model_endpoints_summary: summary,
    stacking_ensemble_loaded_status: Object.fromEntries(MEDIA_NAMES.map((m) => [m, stackingReady(ctx.deps, m)])),
    documentation_urls: { swagger_ui: "/docs", openapi_json: "/openapi.json", redoc: "/docs", metrics: "/metrics" },
    protocols: ["rest", "connect", "grpc", "grpc-web"],
  };
  send(ctx, 200, body);
}

/** A meta-learner is loaded and fits the media type's default detectors (else stacking falls back to average). */
function stackingReady(deps: RestDeps, media: MediaName): boolean {
  return deps.stacking?.status(media, defaultDetectors(deps.pool.states(), media)).state === "ready";
}

const HEALTH_NAME: Record<ModelHealth, "healthy" | "not_serving" | "unreachable" | "unknown"> = {
  [ModelHealth.UNSPECIFIED]: "unknown",
  [ModelHealth.SERVING]: "healthy",
  [ModelHealth.NOT_SERVING]: "not_serving",
  [ModelHealth.UNREACHABLE]: "unreachable",
};

/** From the pool's cached grpc.health.v1 checks (polled concurrently, each on its own connection). */
function health(ctx: Ctx): void {
  const { pool, db } = ctx.deps;
  const states = pool.states();
  const details: S.HealthInfoT["media_type_details"] = {};
  let configured = 0;
  let serving = 0;
  for (const m of MEDIA_NAMES) {
    const mine = states.filter((s) => s.config.media_type === m);
    const up = mine.filter((s) => s.health === ModelHealth.SERVING).length;
    configured += mine.length;
    serving += up;
    details[m] = {
      status: mine.length === 0 ? "no_models_configured" : up === mine.length ? "healthy" : up === 0 ? "unavailable" : "degraded_models",
      serving: up,
      configured: mine.length,
      models: Object.fromEntries(
        mine.map((s) => [
          s.config.name,
          {
            status: HEALTH_NAME[s.health],
            detail: s.detail,
            address: s.config.address,
            default: s.config.default,
            votes: s.info?.weights?.kind !== WeightsKind.RANDOM_FIXTURE,
            version: s.info?.version ?? null,
            weights_kind: s.info?.weights ? WeightsKind[s.info.weights.kind].toLowerCase() : null,
          },
        ]),
      ),
      stacking_ensemble_loaded: stackingReady(ctx.deps, m),
    };
  }
  const overall = serving === 0 ? "unavailable" : serving === configured ? "healthy" : "degraded";
  const body: S.HealthInfoT = {
    overall_api_status: overall,
    version: ctx.deps.version,
    media_type_details: details,
    history: !db ? "disabled" : db.ready ? "connected" : "unreachable",
    request_id: ctx.requestId,
  };
  send(ctx, overall === "unavailable" ? 503 : 200, body);
}

async function metricsRoute(ctx: Ctx): Promise<void> {
  const reg = ctx.deps.metrics.registry;
  sendRaw(ctx, 200, reg.contentType, await reg.metrics(), { "Cache-Control": "no-store" });
}

// ---------- accounts ----------

function clientAddress(req: Req): string {
  return (req as IncomingMessage).socket?.remoteAddress ?? "unknown";
}

async function register(ctx: Ctx): Promise<void> {
  const { accounts } = ctx.deps;
  accounts.admitRegistration(clientAddress(ctx.req));
  const parsed = S.RegisterForm.safeParse(await readForm(ctx.req));
  if (!parsed.success) throw fromZod(parsed.error, "form");
  const { token } = await accounts.register(parsed.data);
  send(ctx, 200, token satisfies S.TokenT);
}

async function login(ctx: Ctx): Promise<void> {
  const parsed = S.TokenForm.safeParse(await readForm(ctx.req));
  if (!parsed.success) throw fromZod(parsed.error, "form");
  const token = await ctx.deps.accounts.login(parsed.data.username, parsed.data.password, clientAddress(ctx.req));
  send(ctx, 200, token satisfies S.TokenT);
}

async function me(ctx: Ctx): Promise<void> {
  const u = await ctx.deps.accounts.profile(await requirePrincipal(ctx));
  send(ctx, 200, { username: u.username, email: u.email, full_name: u.full_name, disabled: u.disabled } satisfies S.UserT);
}

// ---------- history ----------

function historyItem(r: { _id?: unknown; request_id: string; media_type: string; verdict: string; confidence: number; ensemble_score: number | null; file_name?: string; size?: number; created_at: string | Date }) {
  return {
    id: String(r._id ?? r.request_id),
    request_id: r.request_id,
    media_type: r.media_type,
    verdict: r.verdict,
    confidence: r.confidence,
    ensemble_score: r.ensemble_score ?? null,
    file_name: r.file_name ?? "",
    size: r.size ?? 0,
    timestamp: new Date(r.created_at).toISOString(),
  };
}

async function historyList(ctx: Ctx): Promise<void> {
  const p = await requirePrincipal(ctx);
  const q = S.HistoryQuery.safeParse(Object.fromEntries(ctx.url.searchParams));
  if (!q.success) throw fromZod(q.error, "query");
  const page = await ctx.deps.history.list(p, { limit: q.data.limit, offset: q.data.offset, mediaType: q.data.media_type });
  send(ctx, 200, { total: page.total, limit: page.limit, offset: page.offset, records: page.records.map(historyItem) });
}

async function historyGet(ctx: Ctx): Promise<void> {
  const p = await requirePrincipal(ctx);
  const r = await ctx.deps.history.get(p, ctx.params.request_id!);
  send(ctx, 200, {
    ...historyItem(r),
    ensemble_method: r.ensemble_method,
    sha256: r.sha256,
    threshold: r.threshold,
    model_results: r.model_results,
    timings: r.timings,
    full_response: r.full_response,
  });
}

// ---------- docs ----------

function openapiRoute(ctx: Ctx, body: Buffer): void {
  sendRaw(ctx, 200, "application/json", body);
}

function docs(ctx: Ctx): void {
  const asset = docsAsset(ctx.url.pathname);
  if (!asset) throw notFound("Not Found");
  sendRaw(ctx, 200, asset[0], asset[1], { "Cache-Control": "public, max-age=3600" });
}

// ---------- the router ----------

function route(method: string, path: string, handler: Handler): Route {
  const keys: string[] = [];
  const pattern = new RegExp(
    `^${path.replace(/\{(\w+)\}/g, (_m, k: string) => {
      keys.push(k);
      return "([^/]+)";
    })}$`,
  );
  return { method, path, pattern, keys, handler };
}

function cors(ctx: Ctx): boolean {
  const origin = ctx.req.headers.origin;
  const allowed = ctx.deps.registry.rest.cors_origins;
  if (typeof origin !== "string" || !(allowed.includes(origin) || allowed.includes("*"))) return false;
  ctx.res.setHeader("Access-Control-Allow-Origin", allowed.includes("*") ? "*" : origin);
  ctx.res.setHeader("Vary", "Origin");
  ctx.res.setHeader("Access-Control-Expose-Headers", "X-Request-ID, Retry-After");
  return true;
}

export type RestHandler = (req: Req, res: Res, requestId: string) => void;

/**
 * True when the request will be refused with 413 from its headers alone (Content-Length over the
 * limit): a client that sent "Expect: 100-continue" then gets the 413 without sending the body.
 */
export function refusedFromHeaders(req: Req, registry: Registry): boolean {
  const declared = contentLength(req);
  if (declared === undefined || req.method !== "POST") return false;
  const path = (req.url ?? "").split("?")[0];
  if (path === "/detect") return declared > Math.max(...MEDIA_NAMES.map((m) => registry.media[m].max_upload_bytes)) + MULTIPART_SLACK;
  if (path === "/predict") return declared > registry.rest.max_json_bytes;
  return false;
}

export function createRestHandler(deps: RestDeps): RestHandler {
  const openapiBody = Buffer.from(JSON.stringify(deps.openapi));
  const routes: Route[] = [
    route("GET", "/", root),
    route("GET", "/health", health),
    route("GET", "/metrics", metricsRoute),
    route("GET", "/openapi.json", (ctx) => openapiRoute(ctx, openapiBody)),
    route("GET", "/docs", docs),
    route("GET", "/docs/{asset}", docs),
    route("GET", "/redoc", (ctx) => sendRaw(ctx, 308, "text/plain", "see /docs", { Location: "/docs" })),
    route("POST", "/predict", predict),
    route("POST", "/detect", detectUpload),
    route("POST", "/register", register),
    route("POST", "/token", login),
    route("GET", "/users/me", me),
    route("GET", "/history", historyList),
    route("GET", "/history/{request_id}", historyGet),
  ];

  return (req, res, requestId) => {
    const started = performance.now();
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://gateway");
    } catch {
      url = new URL("http://gateway/");
    }
    const ctx: Ctx = { req, res, url, requestId, deps, params: {} };
    let label = "unmatched";
    res.once("finish", () => {
      deps.metrics.httpRequests.inc({ route: label, status: String(res.statusCode) });
      deps.metrics.httpDuration.observe({ route: label }, (performance.now() - started) / 1000);
    });
    const isCors = cors(ctx);
    const run = async () => {
      const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
      const byPath = routes.filter((r) => r.pattern.test(url.pathname));
      if (byPath.length === 0) throw notFound("Not Found");
      if (method === "OPTIONS" && isCors) {
        label = byPath[0]!.path;
        res.setHeader("Access-Control-Allow-Methods", byPath.map((r) => r.method).join(", "));
        res.setHeader("Access-Control-Allow-Headers", "Authorization, Content-Type, X-API-Key, X-Request-ID");
        res.setHeader("Access-Control-Max-Age", "600");
        res.statusCode = 204;
        res.end();
        return;
      }
      const r = byPath.find((x) => x.method === method);
      if (!r) {
        label = byPath[0]!.path;
        throw new HttpError(405, "method_not_allowed", "Method Not Allowed", { Allow: byPath.map((x) => x.method).join(", ") });
      }
      label = r.path;
      const m = r.pattern.exec(url.pathname)!;
      r.keys.forEach((k, i) => (ctx.params[k] = decodeURIComponent(m[i + 1]!)));
      await r.handler(ctx);
    };
    run().catch((err: unknown) => {
      const e = toHttpError(err);
      const d = ctx.detection;
      if (d && !d.entered) deps.metrics.requests.inc({ method: d.method, media_type: d.media, verdict: "none", outcome: outcomeOf(e) });
      if (e.status >= 500 && e.status !== 503) deps.log(`rest: ${req.method} ${url.pathname} (${requestId}) failed: ${(err as Error)?.stack ?? err}`);
      try {
        sendError(ctx, e);
      } catch {
        res.end();
      }
    });
  };
}
