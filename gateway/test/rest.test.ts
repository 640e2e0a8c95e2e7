// The REST API over real loopback sockets, with fake detectors behind the gateway (no MongoDB:
// accounts and history answer 503 here; history.test.ts runs them against a real FerretDB).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DeepSafeService, DetectRequestSchema, EnsembleMethod, type DetectRequest } from "@deepsafe/proto/es/gateway";
import { SignJWT, UnsecuredJWT } from "jose";
import { z } from "zod";
import { startGateway, type Gateway } from "../src/server.js";
import { parseRegistry } from "../src/registry.js";
import * as S from "../src/rest/schemas.js";
import { SecretError } from "../src/auth/secret.js";
import { startFakeDetector, type FakeDetector } from "./fake-detector.js";
import { call, multipart, postJson, postMultipart, streamedPost } from "./http-helpers.js";

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(300_000, 7)]);
const WAV = Buffer.concat([Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1"), Buffer.alloc(2000, 1)]);
const TEXT = Buffer.from("just some text, certainly not an image\n".repeat(20));
const MAX_IMAGE = 1024 * 1024;
const SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
const API_KEY = "service-key-0123456789abcdef";

let fakes: Record<string, FakeDetector>;
let gw: Gateway;
let base: string;

test.before(async () => {
  fakes = {
    fake1: await startFakeDetector("fake1", { probability: 0.9 }),
    real1: await startFakeDetector("real1", { probability: 0.2 }),
    slow: await startFakeDetector("slow", { probability: 0.7, delayMs: 1500 }),
    broken: await startFakeDetector("broken", { error: { code: grpc.status.INTERNAL, message: "boom" } }),
    audio: await startFakeDetector("audio", { probability: 0.1, mediaType: 3 }),
  };
  const det = (name: string, extra: object = {}) => ({ name, package: "test", media_type: "image", address: fakes[name]!.address, default: false, ...extra });
  const registry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1", health_interval_ms: 100 },
    media: { image: { ensemble: "average", max_upload_bytes: MAX_IMAGE }, audio: { max_upload_bytes: MAX_IMAGE } },
    rest: { cors_origins: ["https://app.example"] },
    detectors: [det("fake1", { default: true }), det("real1", { default: true }), det("slow"), det("broken"), det("audio", { media_type: "audio", default: true })],
  });
  gw = await startGateway({
    registry,
    mongodbUri: null,
    dataDir: mkdtempSync(join(tmpdir(), "deepsafe-rest-")),
    env: { DEEPSAFE_JWT_SECRET: SECRET, DEEPSAFE_API_KEYS: `ci=${API_KEY}` },
    log: () => {},
  });
  base = gw.url;
});

test.after(async () => {
  await gw?.close();
  for (const f of Object.values(fakes ?? {})) await f.stop();
});

const b64 = (b: Buffer) => b.toString("base64");
const isUuid = (s: string | null) => !!s && /^[0-9a-f-]{36}$/.test(s);

function assertError(r: { status: number; headers: Headers; body: { detail?: unknown; code?: string; request_id?: string } }, status: number, code?: string) {
  assert.is(r.status, status, JSON.stringify(r.body));
  assert.ok(r.body && r.body.detail !== undefined, "error body has detail");
  assert.is(r.body.request_id, r.headers.get("x-request-id"), "error carries the request id of the X-Request-ID header");
  if (code) assert.is(r.body.code, code);
  S.ErrorBody.parse(r.body);
}

// ---------- service ----------

test("GET / lists media types and models; every response has X-Request-ID (echoed when valid)", async () => {
  const r = await call(base, "/");
  assert.is(r.status, 200);
  const info = S.RootInfo.parse(r.body);
  assert.equal(info.model_endpoints_summary.image, ["fake1", "real1", "slow", "broken"]);
  assert.equal(info.configured_media_types, ["image", "audio"]);
  assert.is(info.documentation_urls.swagger_ui, "/docs");
  assert.ok(isUuid(r.headers.get("x-request-id")));
  const echoed = await call(base, "/", { headers: { "x-request-id": "my-trace-42" } });
  assert.is(echoed.headers.get("x-request-id"), "my-trace-42");
  const bogus = await call(base, "/", { headers: { "x-request-id": "bad id with spaces" } });
  assert.ok(isUuid(bogus.headers.get("x-request-id")));
  const notFound = await call(base, "/nope");
  assertError(notFound, 404, "not_found");
  const wrongMethod = await call(base, "/predict");
  assertError(wrongMethod, 405);
  assert.is(wrongMethod.headers.get("allow"), "POST");
  // Connect answers carry it too.
  const connect = await call(base, "/deepsafe.v1.DeepSafeService/ListModels", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.is(connect.status, 200);
  assert.ok(isUuid(connect.headers.get("x-request-id")));
});

test("GET /health: per media type and model, from cached checks, not blocked by a long inference", async () => {
  const r = await call(base, "/health");
  assert.is(r.status, 200);
  const h = S.HealthInfo.parse(r.body);
  assert.is(h.overall_api_status, "healthy");
  assert.is(h.media_type_details.image!.status, "healthy");
  assert.is(h.media_type_details.image!.models.fake1!.status, "healthy");
  assert.is(h.media_type_details.video!.status, "no_models_configured");
  assert.is(h.history, "disabled");
  assert.is(h.request_id, r.headers.get("x-request-id"));
  // A 1.5 s inference in flight: /health still answers at once.
  const slow = postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG), models: ["slow"] });
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  const during = await call(base, "/health");
  const ms = performance.now() - t0;
  assert.is(during.status, 200);
  assert.ok(ms < 500, `health took ${ms.toFixed(0)} ms during an inference`);
  assert.is((await slow).status, 200);
});

test("GET /health: a dead detector makes its media type and the whole API degraded", async () => {
  await fakes.audio!.stop();
  try {
    let h: z.infer<typeof S.HealthInfo> | undefined;
    for (let i = 0; i < 50; i++) {
      h = S.HealthInfo.parse((await call(base, "/health")).body);
      if (h.media_type_details.audio!.status !== "healthy") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.is(h!.media_type_details.audio!.status, "unavailable");
    assert.is(h!.media_type_details.audio!.models.audio!.status, "unreachable");
    assert.is(h!.overall_api_status, "degraded");
  } finally {
    await fakes.audio!.restart();
    for (let i = 0; i < 100; i++) {
      const h = S.HealthInfo.parse((await call(base, "/health")).body);
      if (h.media_type_details.audio!.status === "healthy") break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

// ---------- /predict ----------

test("POST /predict: base64 JPEG → the original's response fields, fused by average", async () => {
  const r = await postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG) });
  assert.is(r.status, 200, r.text);
  const p = S.PredictResponse.parse(r.body);
  assert.is(p.request_id, r.headers.get("x-request-id"));
  assert.is(p.media_type_processed, "image");
  assert.is(p.ensemble_method_used, "average");
  assert.is(p.ensemble_method_requested, null);
  assert.ok(Math.abs(p.ensemble_score_is_fake! - 0.55) < 1e-9);
  assert.is(p.verdict, "fake");
  assert.ok(Math.abs(p.confidence_in_verdict - 0.55) < 1e-9);
  assert.is(p.base_model_total_votes, 2);
  assert.is(p.base_model_fake_votes, 1);
  const m = p.model_results.fake1 as { probability: number; class: string; prediction: number };
  assert.is(m.probability, 0.9);
  assert.is(m.class, "fake");
  assert.is(m.prediction, 1);
  assert.is(fakes.fake1!.calls.at(-1)!.bytes, JPEG.length, "every byte reached the detector");
});

test("POST /predict: voting tie is undetermined; requested models, threshold and method are honoured", async () => {
  const tie = S.PredictResponse.parse((await postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG), ensemble_method: "voting" })).body);
  assert.is(tie.verdict, "undetermined");
  assert.is(tie.ensemble_method_requested, "voting");
  const one = S.PredictResponse.parse(
    (await postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG), models: ["real1"], threshold: 0.1 })).body,
  );
  assert.equal(Object.keys(one.model_results), ["real1"]);
  assert.is(one.verdict, "fake"); // 0.2 > 0.1
  assert.is(one.threshold, 0.1);
  const failing = S.PredictResponse.parse((await postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG), models: "fake1,broken" })).body);
  const broken = failing.model_results.broken as { error: string; error_code: string };
  assert.is(broken.error_code, "INTERNAL");
  assert.match(broken.error, /boom/);
  assert.is(failing.verdict, "fake");
  // URL-safe alphabet, no padding, a data: URL prefix and line breaks are all accepted.
  const urlSafe = b64(JPEG).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  assert.is((await postJson(base, "/predict", { media_type: "image", image_data: urlSafe })).status, 200);
  const wrapped = `data:image/jpeg;base64,${b64(JPEG).replace(/(.{76})/g, "$1\n")}`;
  assert.is((await postJson(base, "/predict", { media_type: "image", image_data: wrapped })).status, 200);
});

test("POST /predict: bad base64 is 400; unknown bytes 415; bad fields 422; too large 413 — never 500", async () => {
  assertError(await postJson(base, "/predict", { media_type: "image", image_data: "not*base64!" }), 400, "invalid_base64");
  assertError(await postJson(base, "/predict", { media_type: "image", image_data: "QUJD=A" }), 400, "invalid_base64");
  assertError(await postJson(base, "/predict", { media_type: "image", image_data: "" }), 400);
  assertError(await postJson(base, "/predict", { media_type: "image", image_data: b64(TEXT) }), 415, "unsupported_media_type");
  const cases: Array<[unknown, string]> = [
    [{ media_type: "image", image_data: b64(JPEG), threshold: 1.5 }, "threshold"],
    [{ media_type: "image", image_data: b64(JPEG), threshold: "high" }, "threshold"],
    [{ media_type: "image", image_data: b64(JPEG), ensemble_method: "magic" }, "ensemble_method"],
    [{ media_type: "picture", image_data: b64(JPEG) }, "media_type"],
    [{ media_type: "image" }, "image_data"],
    [{ media_type: "image", image_data: b64(JPEG), audio_data: b64(WAV) }, "image_data"],
    [{ media_type: "image", image_data: b64(JPEG), models: ["nope"] }, "models"],
    [{ media_type: "image", image_data: b64(JPEG), models: ["audio"] }, "models"],
    [{ media_type: "audio", audio_data: b64(JPEG) }, "media_type"],
    [{ media_type: "image", image_data: 12 }, "image_data"],
  ];
  for (const [body, field] of cases) {
    const r = await postJson(base, "/predict", body);
    assertError(r, 422, "validation_error");
    const locs = (r.body.detail as Array<{ loc: string[] }>).map((i) => i.loc.join("."));
    assert.ok(locs.some((l) => l.includes(field)), `${JSON.stringify(body).slice(0, 80)}: ${locs.join(", ")}`);
  }
  const malformed = await call(base, "/predict", { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
  assertError(malformed, 422);
  assertError(await call(base, "/predict", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }), 415);
  const big = Buffer.concat([JPEG, Buffer.alloc(MAX_IMAGE)]);
  assertError(await postJson(base, "/predict", { media_type: "image", image_data: b64(big) }), 413, "payload_too_large");
});

// ---------- /detect ----------

test("POST /detect: multipart JPEG → the original's fields, plus size and sha256", async () => {
  const r = await postMultipart(base, "/detect", JPEG, { fileName: "holiday.jpg", mime: "text/plain", fields: { ensemble_method: "voting", threshold: "0.4" } });
  assert.is(r.status, 200, r.text);
  const d = S.DetectResult.parse(r.body);
  assert.is(d.request_id, r.headers.get("x-request-id"));
  assert.is(d.filename, "holiday.jpg");
  assert.is(d.media_type_processed, "image", "type from the bytes, not the client's MIME claim");
  assert.is(d.model_count, 2);
  assert.is(d.fake_votes, 1);
  assert.is(d.real_votes, 1);
  assert.is(d.ensemble_method_used, "voting");
  assert.is(d.threshold, 0.4);
  assert.is(d.is_likely_deepfake, true); // 0.5 > 0.4
  assert.is(d.size, JPEG.length);
  assert.is(d.sha256, createHash("sha256").update(JPEG).digest("hex"));
  // Query parameters work as well as form fields; comma-separated models.
  const q = S.DetectResult.parse((await postMultipart(base, "/detect?models=real1&threshold=0.5", JPEG)).body);
  assert.equal(Object.keys(q.model_results), ["real1"]);
  assert.is(q.verdict, "real");
  // Audio by its bytes, routed to the audio detector.
  const a = S.DetectResult.parse((await postMultipart(base, "/detect", WAV, { fileName: "voice.jpg" })).body);
  assert.is(a.media_type_processed, "audio");
  assert.equal(Object.keys(a.model_results), ["audio"]);
});

test("POST /detect: 415 text file, 400 empty file, 422 bad or late fields, 415 not multipart", async () => {
  assertError(await postMultipart(base, "/detect", TEXT, { fileName: "photo.jpg", mime: "image/jpeg" }), 415, "unsupported_media_type");
  assertError(await postMultipart(base, "/detect", Buffer.alloc(0), { fileName: "empty.jpg" }), 400);
  const badFields: Record<string, string>[] = [{ threshold: "abc" }, { threshold: "1.5" }, { ensemble_method: "best" }, { models: "nope" }, { include_random_weights: "maybe" }];
  for (const fields of badFields) {
    assertError(await postMultipart(base, "/detect", JPEG, { fields }), 422, "validation_error");
  }
  assertError(await postMultipart(base, "/detect", JPEG, { fieldsAfter: { threshold: "0.9" } }), 422, "validation_error");
  assertError(await postMultipart(base, "/detect", undefined, { fields: { threshold: "0.5" } }), 422, "validation_error");
  assertError(await postMultipart(base, "/detect", JPEG, { fileField: "image" }), 422, "validation_error");
  assertError(await call(base, "/detect", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }), 415);
  const broken = await call(base, "/detect", { method: "POST", headers: { "content-type": "multipart/form-data; boundary=xyz" }, body: "garbage" });
  assert.ok(broken.status === 400 || broken.status === 422, `malformed multipart: ${broken.status}`);
  assertError(broken, broken.status);
});

test("POST /detect streams: the detector receives bytes before the client has finished sending", async () => {
  const m = multipart(JPEG, { fileName: "stream.jpg" });
  const calls = fakes.fake1!.calls.length;
  const up = streamedPost(base, "/detect", { "content-type": m.contentType, "transfer-encoding": "chunked" });
  await up.write(m.head);
  await up.write(JPEG.subarray(0, 200_000));
  // The rest is held back until the detector has seen the first part.
  const deadline = Date.now() + 5000;
  while (!(fakes.fake1!.calls.length > calls && fakes.fake1!.calls.at(-1)!.bytes > 0)) {
    if (Date.now() > deadline) throw new Error("the detector saw no byte before the upload finished: the gateway buffers");
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(fakes.fake1!.calls.at(-1)!.bytes <= 200_000);
  await up.write(JPEG.subarray(200_000));
  await up.write(m.tail);
  up.end();
  const r = await up.reply;
  assert.is(r.status, 200, r.text);
  assert.is(r.body.size, JPEG.length);
  assert.is(fakes.fake1!.calls.at(-1)!.bytes, JPEG.length);
});

test("POST /detect: 413 arrives as soon as the limit is crossed, while the client is still sending", async () => {
  const filePart = multipart(JPEG, { fileName: "huge.jpg" });
  const up = streamedPost(base, "/detect", { "content-type": filePart.contentType, "transfer-encoding": "chunked" });
  await up.write(filePart.head);
  await up.write(JPEG);
  // Past the 1 MiB limit, then the client stops sending and never ends the body.
  for (let sent = JPEG.length; sent <= MAX_IMAGE + 128 * 1024; sent += 64 * 1024) await up.write(Buffer.alloc(64 * 1024, 1));
  const r = await Promise.race([up.reply, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no answer while the upload was unfinished")), 5000))]);
  assert.is(r.status, 413);
  assert.is(r.body.code, "payload_too_large");
  assert.is(r.body.request_id, r.headers.get("x-request-id"));
  assert.ok(r.sentWhenAnswered < MAX_IMAGE + 512 * 1024);
  up.destroy();
  // A Content-Length already over the limit is refused before any byte is read.
  const declared = streamedPost(base, "/detect", { "content-type": filePart.contentType, "content-length": String(500 * 1024 * 1024) });
  await declared.write(filePart.head);
  const early = await Promise.race([declared.reply, new Promise<never>((_, rej) => setTimeout(() => rej(new Error("no early 413")), 5000))]);
  assert.is(early.status, 413);
  declared.destroy();
  // The gateway still serves.
  assert.is((await postMultipart(base, "/detect", JPEG)).status, 200);
});

test("REST and Connect give the same answer for the same file (one pipeline)", async () => {
  const client = createClient(DeepSafeService, createConnectTransport({ baseUrl: base, httpVersion: "2" }));
  async function* msgs(): AsyncGenerator<DetectRequest> {
    yield create(DetectRequestSchema, { payload: { case: "header", value: { ensembleMethod: EnsembleMethod.AVERAGE } } });
    yield create(DetectRequestSchema, { payload: { case: "chunk", value: JPEG } });
  }
  const viaConnect = await client.detect(msgs(), { headers: { "x-request-id": "connect-req-1" } });
  assert.is(viaConnect.requestId, "connect-req-1", "the X-Request-ID becomes the Detect request id");
  const viaRest = S.DetectResult.parse((await postMultipart(base, "/detect", JPEG, { fields: { ensemble_method: "average" } })).body);
  assert.is(viaRest.deepfake_probability, viaConnect.ensembleScore!);
  assert.is(viaRest.model_count, viaConnect.modelResults.length);
});

// ---------- auth without MongoDB ----------

const key = new TextEncoder().encode(SECRET);
const sign = (claims: { sub?: string; iss?: string; aud?: string; exp?: number; iat?: number }, secret = key, alg = "HS256") => {
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT({}).setProtectedHeader({ alg }).setIssuedAt(claims.iat ?? now).setExpirationTime(claims.exp ?? now + 600);
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  jwt = jwt.setIssuer(claims.iss ?? "deepsafe").setAudience(claims.aud ?? "deepsafe-api");
  return jwt.sign(secret);
};

test("JWT: wrong signature, alg none, expired, wrong audience or issuer → 401; a good token passes auth", async () => {
  const now = Math.floor(Date.now() / 1000);
  const bad: Array<[string, string]> = [
    ["wrong signature", await sign({ sub: "alice" }, new TextEncoder().encode("another-secret-0123456789-abcdefghijklmnop"))],
    ["alg none", new UnsecuredJWT({ sub: "alice" }).setIssuer("deepsafe").setAudience("deepsafe-api").setIssuedAt().setExpirationTime("10m").encode()],
    ["expired", await sign({ sub: "alice", iat: now - 3600, exp: now - 1800 })],
    ["wrong audience", await sign({ sub: "alice", aud: "someone-else" })],
    ["wrong issuer", await sign({ sub: "alice", iss: "evil" })],
    ["no subject", await sign({})],
    ["garbage", "abc.def.ghi"],
  ];
  for (const [what, token] of bad) {
    const r = await call(base, "/history", { headers: { authorization: `Bearer ${token}` } });
    assert.is(r.status, 401, `${what}: ${r.text}`);
    assert.is(r.headers.get("www-authenticate"), "Bearer");
    assertError(r, 401, "unauthenticated");
    // Bad credentials on a detection are refused too, never silently anonymous.
    const d = await postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG) }, { authorization: `Bearer ${token}` });
    assert.is(d.status, 401, `${what} on /predict`);
  }
  const expiredMsg = (await call(base, "/users/me", { headers: { authorization: `Bearer ${bad[2]![1]}` } })).body.detail;
  assert.match(expiredMsg, /expired/);
  assertError(await call(base, "/history"), 401);
  // A good token gets past auth; the store is off here, so 503.
  const good = await call(base, "/history", { headers: { authorization: `Bearer ${await sign({ sub: "alice" })}` } });
  assertError(good, 503, "unavailable");
});

test("API keys: X-API-Key identifies a service; a wrong key is 401", async () => {
  const me = await call(base, "/users/me", { headers: { "x-api-key": API_KEY } });
  assert.is(me.status, 200);
  S.User.parse(me.body);
  assert.is(me.body.username, "apikey:ci");
  assertError(await call(base, "/users/me", { headers: { "x-api-key": "wrong-key-0123456789abcdef" } }), 401);
  assert.is((await postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG) }, { "x-api-key": API_KEY })).status, 200);
});

test("accounts without MongoDB: 503 with a clear reason; invalid forms are still 422", async () => {
  assertError(await call(base, "/register", { method: "POST", body: new URLSearchParams({ username: "carol", password: "long enough password" }) }), 503);
  assertError(await call(base, "/register", { method: "POST", body: new URLSearchParams({ username: "c", password: "short" }) }), 422);
  assertError(await call(base, "/token", { method: "POST", body: new URLSearchParams({ username: "carol", password: "whatever" }) }), 503);
  assertError(await call(base, "/token", { method: "POST", body: new URLSearchParams({ username: "carol" }) }), 422);
});

test("anonymous detection can be turned off (REST and Connect); tokens and API keys still work", async () => {
  const registry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1", health_interval_ms: 100 },
    auth: { anonymous_detect: false },
    detectors: [{ name: "fake1", package: "t", media_type: "image", address: fakes.fake1!.address }],
  });
  const g = await startGateway({ registry, mongodbUri: null, dataDir: mkdtempSync(join(tmpdir(), "deepsafe-rest-")), env: { DEEPSAFE_JWT_SECRET: SECRET, DEEPSAFE_API_KEYS: `ci=${API_KEY}` }, log: () => {} });
  try {
    assertError(await postJson(g.url, "/predict", { media_type: "image", image_data: b64(JPEG) }), 401);
    assertError(await postMultipart(g.url, "/detect", JPEG), 401);
    assert.is((await postMultipart(g.url, "/detect", JPEG, { headers: { "x-api-key": API_KEY } })).status, 200);
    assert.is((await postJson(g.url, "/predict", { media_type: "image", image_data: b64(JPEG) }, { authorization: `Bearer ${await sign({ sub: "alice" })}` })).status, 200);
    const client = createClient(DeepSafeService, createConnectTransport({ baseUrl: g.url, httpVersion: "2" }));
    async function* msgs(): AsyncGenerator<DetectRequest> {
      yield create(DetectRequestSchema, { payload: { case: "header", value: {} } });
      yield create(DetectRequestSchema, { payload: { case: "chunk", value: JPEG } });
    }
    try {
      await client.detect(msgs());
      assert.unreachable("anonymous Connect Detect must be refused");
    } catch (err) {
      assert.is(ConnectError.from(err).code, Code.Unauthenticated);
    }
    try {
      await client.detect(msgs(), { headers: { authorization: "Bearer not.a.token" } });
      assert.unreachable("a bad token must be refused over Connect too");
    } catch (err) {
      assert.is(ConnectError.from(err).code, Code.Unauthenticated);
    }
    const ok = await client.detect(msgs(), { headers: { "x-api-key": API_KEY } });
    assert.is(ok.modelResults.length, 1);
  } finally {
    await g.close();
  }
});

test("production mode refuses a missing, default or short JWT secret (and the process exits 1)", async () => {
  const registry = parseRegistry({ gateway: { port: 0, host: "127.0.0.1" }, detectors: [] });
  const dataDir = mkdtempSync(join(tmpdir(), "deepsafe-rest-"));
  for (const env of [{ NODE_ENV: "production" }, { DEEPSAFE_ENV: "production", DEEPSAFE_JWT_SECRET: "changeme" }, { NODE_ENV: "production", DEEPSAFE_JWT_SECRET: "short-secret" }]) {
    try {
      const g = await startGateway({ registry, mongodbUri: null, dataDir, env, log: () => {} });
      await g.close();
      assert.unreachable(`started with ${JSON.stringify(env)}`);
    } catch (err) {
      assert.instance(err, SecretError);
    }
  }
  const g = await startGateway({ registry, mongodbUri: null, dataDir, env: { NODE_ENV: "production", DEEPSAFE_JWT_SECRET: SECRET }, log: () => {} });
  await g.close();
  const main = fileURLToPath(new URL("../src/main.ts", import.meta.url));
  const { NODE_ENV: _n, DEEPSAFE_JWT_SECRET: _s, ...inherited } = process.env;
  const run = spawnSync(process.execPath, ["--import", "tsx", main], {
    env: { ...inherited, NODE_ENV: "production", DEEPSAFE_GATEWAY_PORT: "0", MONGODB_URI: "", DEEPSAFE_MONGODB_URI: "" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.is(run.status, 1, run.stderr);
  assert.match(run.stderr, /refused to start: production mode needs DEEPSAFE_JWT_SECRET/);
});

test("CORS only for configured origins; Expect: 100-continue gets 413 without sending the body", async () => {
  const pre = await call(base, "/detect", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
  assert.is(pre.status, 204);
  assert.is(pre.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(pre.headers.get("access-control-allow-headers") ?? "", /Authorization/);
  const simple = await call(base, "/", { headers: { origin: "https://app.example" } });
  assert.is(simple.headers.get("access-control-allow-origin"), "https://app.example");
  assert.match(simple.headers.get("access-control-expose-headers") ?? "", /X-Request-ID/);
  const other = await call(base, "/", { headers: { origin: "https://evil.example" } });
  assert.is(other.headers.get("access-control-allow-origin"), null);
  // A client asking first: the 413 comes instead of "100 Continue", before any body byte.
  const m = multipart(JPEG);
  const up = streamedPost(base, "/detect", { "content-type": m.contentType, "content-length": String(400 * 1024 * 1024), expect: "100-continue" });
  const r = await Promise.race([up.reply, new Promise<never>((_, no) => setTimeout(() => no(new Error("no answer to Expect")), 5000))]);
  assert.is(r.status, 413);
  assert.is(r.sentWhenAnswered, 0);
  up.destroy();
});

// ---------- OpenAPI, docs, metrics ----------

test("GET /openapi.json: OpenAPI 3.1 generated from the validating schemas; every $ref resolves", async () => {
  const r = await call(base, "/openapi.json");
  assert.is(r.status, 200);
  const doc = r.body as { openapi: string; paths: Record<string, unknown>; components: { schemas: Record<string, { properties?: Record<string, unknown> }> } };
  assert.is(doc.openapi, "3.1.0");
  for (const p of ["/", "/health", "/predict", "/detect", "/register", "/token", "/users/me", "/history", "/history/{request_id}", "/metrics"]) {
    assert.ok(doc.paths[p], `path ${p}`);
  }
  const refs = [...r.text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(refs.length > 10);
  for (const ref of refs) assert.ok(doc.components.schemas[ref], `unresolved $ref ${ref}`);
  // The same zod object that validates /predict produced its schema.
  const fromZod = z.toJSONSchema(S.PredictRequest, { io: "input", unrepresentable: "any" }) as { $defs: Record<string, { properties: Record<string, unknown> }> };
  assert.equal(Object.keys(doc.components.schemas.PredictRequest!.properties!), Object.keys(fromZod.$defs.PredictRequest!.properties));
  assert.equal((doc.components.schemas.PredictRequest!.properties!.threshold as { maximum: number }).maximum, 1);
});

test("GET /docs: Swagger UI served offline from swagger-ui-dist", async () => {
  const page = await call(base, "/docs");
  assert.is(page.status, 200);
  assert.match(page.text, /swagger-ui-bundle\.js/);
  const bundle = await fetch(`${base}/docs/swagger-ui-bundle.js`);
  assert.is(bundle.status, 200);
  assert.match(bundle.headers.get("content-type") ?? "", /javascript/);
  assert.ok((await bundle.arrayBuffer()).byteLength > 500_000);
  assert.match((await call(base, "/docs/init.js")).text, /openapi\.json/);
  assert.is((await call(base, "/docs/../package.json")).status, 404);
});

function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

test("GET /metrics: counters and histograms move after real requests", async () => {
  const before = (await call(base, "/metrics")).text;
  await postJson(base, "/predict", { media_type: "image", image_data: b64(JPEG), models: ["fake1", "broken"] });
  await postMultipart(base, "/detect", JPEG);
  await postMultipart(base, "/detect", TEXT);
  const after = (await call(base, "/metrics")).text;
  const delta = (name: string, labels: Record<string, string> = {}) => metricValue(after, name, labels) - metricValue(before, name, labels);
  assert.is(delta("deepsafe_gateway_requests_total", { method: "rest_predict", media_type: "image", verdict: "fake", outcome: "ok" }), 1);
  assert.is(delta("deepsafe_gateway_requests_total", { method: "rest_detect", outcome: "ok" }), 1);
  assert.is(delta("deepsafe_gateway_requests_total", { method: "rest_detect", outcome: "unsupported_media_type" }), 1);
  assert.is(delta("deepsafe_gateway_request_duration_seconds_count", { method: "rest_predict" }), 1);
  assert.is(delta("deepsafe_gateway_detector_errors_total", { model: "broken", code: "INTERNAL" }), 1);
  assert.is(delta("deepsafe_gateway_detector_call_duration_seconds_count", { model: "fake1" }), 2);
  assert.is(delta("deepsafe_gateway_http_requests_total", { route: "/detect", status: "415" }), 1);
  assert.ok(delta("deepsafe_gateway_received_bytes_total", { method: "rest_detect" }) >= JPEG.length);
  assert.match(after, /# TYPE deepsafe_gateway_request_duration_seconds histogram/);
  assert.match(after, /deepsafe_gateway_process_/);
});

test.run();
