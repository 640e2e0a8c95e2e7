// Accounts and history against a real MongoDB-wire server: FerretDB (SQLite backend) built by
// deploy/local/ferretdb.ts and started here on a free port with a temporary data folder. Includes
// the durability check: MongoDB stopped mid-run, detections still answered, every record written
// once it is back — and records queued while the gateway itself restarts.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { DeepSafeService, DetectRequestSchema, type DetectRequest } from "@deepsafe/proto/es/gateway";
import { ensureFerretDB, startFerretDB, type FerretDBServer } from "../../deploy/local/ferretdb.js";
import { freePort } from "../../deploy/local/mesh.js";
import { Database } from "../src/db.js";
import { HistoryStore, type HistoryRecord } from "../src/history/store.js";
import { startGateway, type Gateway } from "../src/server.js";
import { parseRegistry, type Registry } from "../src/registry.js";
import * as S from "../src/rest/schemas.js";
import { startFakeDetector, type FakeDetector } from "./fake-detector.js";
import { call, postForm, postJson, postMultipart } from "./http-helpers.js";

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(50_000, 3)]);
const WAV = Buffer.concat([Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1"), Buffer.alloc(2000, 1)]);
const FAST_HASH = { memoryCost: 8192, timeCost: 2, parallelism: 1 };

let bin: string | undefined;
let skipReason = "";
let db: FerretDBServer;
let dbDir: string;
let dbPort: number;
let fake: FakeDetector;
let audio: FakeDetector;
let registry: Registry;
let dataDir: string;
let gw: Gateway;

const startDb = () => startFerretDB({ bin, dataDir: dbDir, port: dbPort });
const startGw = () =>
  startGateway({ registry, mongodbUri: db.uri, dataDir, passwordHashing: FAST_HASH, historyRetryMs: { min: 100, max: 500 }, log: () => {} });

test.before(async () => {
  try {
    bin = await ensureFerretDB((m) => console.log(`  ${m}`));
  } catch (err) {
    if (process.env.CI) throw err; // CI builds FerretDB: there a missing server is a failure, not a skip
    skipReason = (err as Error).message;
    console.log(`  SKIP history tests: ${skipReason}`);
    return;
  }
  dbDir = mkdtempSync(join(tmpdir(), "deepsafe-ferretdb-"));
  dbPort = await freePort();
  db = await startDb();
  fake = await startFakeDetector("fake1", { probability: 0.8 });
  audio = await startFakeDetector("voice", { probability: 0.3, mediaType: 3 });
  registry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1", health_interval_ms: 200 },
    history: { max_page: 3 },
    auth: { login_rate: { burst: 4, per_minute: 2 } },
    detectors: [
      { name: "fake1", package: "t", media_type: "image", address: fake.address },
      { name: "voice", package: "t", media_type: "audio", address: audio.address },
    ],
  });
  dataDir = mkdtempSync(join(tmpdir(), "deepsafe-gw-"));
  gw = await startGw();
  for (let i = 0; i < 100 && (await call(gw.url, "/health")).body.history !== "connected"; i++) await new Promise((r) => setTimeout(r, 100));
});

test.after(async () => {
  await gw?.close();
  await fake?.stop();
  await audio?.stop();
  await db?.stop();
});

const tokens: Record<string, string> = {};
const auth = (user: string) => ({ authorization: `Bearer ${tokens[user]}` });

test("register, token, users/me; duplicate names and bad passwords refused", async () => {
  if (skipReason) return;
  const r = await postForm(gw.url, "/register", { username: "alice", password: "alice password 1", email: "alice@example.org", full_name: "Alice A" });
  assert.is(r.status, 200, r.text);
  S.Token.parse(r.body);
  assert.is((await postForm(gw.url, "/register", { username: "bob", password: "bob password 12" })).status, 200);
  const dup = await postForm(gw.url, "/register", { username: "ALICE", password: "another password" });
  assert.is(dup.status, 400);
  assert.is(dup.body.detail, "Username already registered");
  assert.is((await postForm(gw.url, "/register", { username: "carol", password: "short" })).status, 422);
  const t = await postForm(gw.url, "/token", { username: "alice", password: "alice password 1" });
  assert.is(t.status, 200, t.text);
  assert.is(t.body.token_type, "bearer");
  tokens.alice = t.body.access_token;
  tokens.bob = (await postForm(gw.url, "/token", { username: "bob", password: "bob password 12" })).body.access_token;
  const me = await call(gw.url, "/users/me", { headers: auth("alice") });
  assert.equal(S.User.parse(me.body), { username: "alice", email: "alice@example.org", full_name: "Alice A", disabled: false });
  const wrong = await postForm(gw.url, "/token", { username: "alice", password: "nope nope nope" });
  assert.is(wrong.status, 401);
  assert.is(wrong.body.detail, "Incorrect username or password");
  assert.is((await postForm(gw.url, "/token", { username: "nobody", password: "whatever" })).status, 401);
  // JSON bodies work for scripts that send them.
  assert.is((await postJson(gw.url, "/token", { username: "bob", password: "bob password 12" })).status, 200);
});

test("history is per user: each sees only their own records, newest first, paged with a max limit", async () => {
  if (skipReason) return;
  const a1 = await postJson(gw.url, "/predict", { media_type: "image", image_data: JPEG.toString("base64") }, auth("alice"));
  const a2 = await postMultipart(gw.url, "/detect", JPEG, { fileName: "a2.jpg", headers: auth("alice") });
  const a3 = await postMultipart(gw.url, "/detect", WAV, { fileName: "voice.wav", headers: auth("alice") });
  const a4 = await postMultipart(gw.url, "/detect", JPEG, { fileName: "a4.jpg", headers: auth("alice") });
  const b1 = await postMultipart(gw.url, "/detect", JPEG, { fileName: "b1.jpg", headers: auth("bob") });
  const anon = await postMultipart(gw.url, "/detect", JPEG, { fileName: "anon.jpg" });
  for (const r of [a1, a2, a3, a4, b1, anon]) assert.is(r.status, 200, r.text);
  assert.ok(await gw.historyFlushed(10_000), "history written");

  const page = S.HistoryPage.parse((await call(gw.url, "/history?limit=1000", { headers: auth("alice") })).body);
  assert.is(page.total, 4);
  assert.is(page.limit, 3, "capped at history.max_page");
  assert.equal(page.records.map((r) => r.request_id), [a4.body.request_id, a3.body.request_id, a2.body.request_id]);
  const rest = S.HistoryPage.parse((await call(gw.url, "/history?limit=3&offset=3", { headers: auth("alice") })).body);
  assert.equal(rest.records.map((r) => r.request_id), [a1.body.request_id]);
  const audioOnly = S.HistoryPage.parse((await call(gw.url, "/history?media_type=audio", { headers: auth("alice") })).body);
  assert.equal(audioOnly.records.map((r) => r.file_name), ["voice.wav"]);
  assert.is((await call(gw.url, "/history?media_type=hologram", { headers: auth("alice") })).status, 422);
  assert.is((await call(gw.url, "/history?limit=0", { headers: auth("alice") })).status, 422);

  const bobs = S.HistoryPage.parse((await call(gw.url, "/history", { headers: auth("bob") })).body);
  assert.equal(bobs.records.map((r) => r.request_id), [b1.body.request_id]);
  // Bob cannot read Alice's record, even knowing its id.
  const stolen = await call(gw.url, `/history/${a2.body.request_id}`, { headers: auth("bob") });
  assert.is(stolen.status, 404);
  assert.is(stolen.body.detail, "Analysis not found");

  const detail = S.HistoryDetail.parse((await call(gw.url, `/history/${a2.body.request_id}`, { headers: auth("alice") })).body);
  assert.is(detail.file_name, "a2.jpg");
  assert.is(detail.size, JPEG.length);
  assert.is(detail.sha256, createHash("sha256").update(JPEG).digest("hex"));
  assert.is(detail.verdict, "fake");
  assert.ok((detail.full_response as { model_results: Record<string, unknown> }).model_results.fake1);
  assert.ok(detail.timings.models.fake1! > 0);
});

test("writes are idempotent: a record re-sent after a crash is stored once (unique request_id)", async () => {
  if (skipReason) return;
  const database = new Database({ uri: db.uri, log: () => {} });
  const store = new HistoryStore(database);
  database.start();
  await database.whenReady();
  try {
    const rec = (id: string): HistoryRecord => ({
      request_id: id, user: "user:dup", method: "rest_detect", media_type: "image", file_name: "x.jpg", size: 1, sha256: "0".repeat(64),
      verdict: "real", confidence: 0.9, ensemble_score: 0.1, ensemble_method: "average", ensemble_method_requested: null, threshold: 0.5,
      note: "", model_results: {}, timings: { total_seconds: 0.1, models: {} }, full_response: {}, created_at: new Date().toISOString(),
    });
    await store.insert([rec("dup-1")]);
    await store.insert([rec("dup-1")]);
    await store.insert([rec("dup-1"), rec("dup-2")]);
    assert.is(await store.count({ user: "user:dup" }), 2);
  } finally {
    await database.close();
  }
});

test("login attempts are rate-limited per username and address (429 + Retry-After)", async () => {
  if (skipReason) return;
  await postForm(gw.url, "/register", { username: "mallory", password: "mallory password" });
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) codes.push((await postForm(gw.url, "/token", { username: "mallory", password: `guess ${i}` })).status);
  assert.equal(codes.slice(0, 4), [401, 401, 401, 401]);
  assert.equal(codes.slice(4), [429, 429]);
  const limited = await postForm(gw.url, "/token", { username: "mallory", password: "mallory password" });
  assert.is(limited.status, 429, "even the right password waits");
  assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  assert.is((await postForm(gw.url, "/token", { username: "bob", password: "bob password 12" })).status, 200, "other users are not locked out");
  const m = (await call(gw.url, "/metrics")).text;
  assert.match(m, /deepsafe_gateway_login_attempts_total\{outcome="rate_limited"\} [1-9]/);
});

/** Every record of a user, page by page (pages hold at most history.max_page = 3). */
async function allRecords(user: string): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0; ; offset += 3) {
    const page = S.HistoryPage.parse((await call(gw.url, `/history?offset=${offset}`, { headers: auth(user) })).body);
    ids.push(...page.records.map((r) => r.request_id));
    if (offset + 3 >= page.total) return ids;
  }
}

async function* connectUpload(bytes: Buffer): AsyncGenerator<DetectRequest> {
  yield create(DetectRequestSchema, { payload: { case: "header", value: {} } });
  yield create(DetectRequestSchema, { payload: { case: "chunk", value: bytes } });
}

test("MongoDB stopped mid-run: detections still answer at once; every record is written once it is back", async () => {
  if (skipReason) return;
  const client = createClient(DeepSafeService, createConnectTransport({ baseUrl: gw.url, httpVersion: "2" }));
  const before = S.HistoryPage.parse((await call(gw.url, "/history", { headers: auth("bob") })).body).total;
  await db.stop();
  const ids: string[] = [];
  const N = 6;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    if (i % 2 === 0) {
      const r = await postMultipart(gw.url, "/detect", JPEG, { fileName: `offline-${i}.jpg`, headers: auth("bob") });
      assert.is(r.status, 200, r.text);
      ids.push(r.body.request_id);
    } else {
      const res = await client.detect(connectUpload(JPEG), { headers: auth("bob") });
      ids.push(res.requestId);
    }
  }
  const perRequest = (performance.now() - t0) / N;
  assert.ok(perRequest < 1000, `detections waited on MongoDB: ${perRequest.toFixed(0)} ms each`);
  assert.is(gw.historyBacklog(), N);
  assert.is((await call(gw.url, "/history", { headers: auth("bob") })).status, 503, "history itself is unavailable meanwhile");
  const health = S.HealthInfo.parse((await call(gw.url, "/health")).body);
  assert.is(health.overall_api_status, "healthy", "MongoDB down does not degrade detection health");

  db = await startDb(); // same port, same SQLite folder
  assert.ok(await gw.historyFlushed(30_000), `backlog after restart: ${gw.historyBacklog()}`);
  const all = await allRecords("bob");
  assert.is(all.length, before + N, "nothing lost, nothing doubled");
  for (const id of ids) assert.ok(all.includes(id), `record ${id}`);
  const m = (await call(gw.url, "/metrics")).text;
  assert.match(m, /deepsafe_gateway_history_writes_total\{outcome="error"\} [1-9]/);
  assert.match(m, /deepsafe_gateway_history_outbox_depth 0/);
});

test("records queued while MongoDB is down survive a gateway restart; accounts and tokens too", async () => {
  if (skipReason) return;
  const before = S.HistoryPage.parse((await call(gw.url, "/history?limit=100", { headers: auth("alice") })).body).total;
  await db.stop();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await postMultipart(gw.url, "/detect", JPEG, { headers: auth("alice") })).body.request_id);
  await gw.close(); // MongoDB is away: the records stay in the outbox file
  db = await startDb();
  gw = await startGw(); // same data folder: same outbox, same development JWT secret
  assert.ok(await gw.historyFlushed(30_000));
  const all = await allRecords("alice");
  assert.is(all.length, before + 3, "the old token still works after the restart");
  for (const id of ids) assert.ok(all.includes(id));
  assert.is((await postForm(gw.url, "/token", { username: "alice", password: "alice password 1" })).status, 200);
});

test.run();
