// AccountService and HistoryService over Connect (HTTP/1.1) and gRPC (HTTP/2), against a real
// MongoDB-wire server (FerretDB, as in history.test.ts) with fake detectors behind the gateway:
// register → login → GetMe, a Detect with the token, then the record through ListAnalyses /
// GetAnalysis (and REST: one store), per-caller isolation, and every typed error code.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, equals } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AccountKind, AccountService } from "@deepsafe/proto/es/accounts";
import { MediaType } from "@deepsafe/proto/es/common";
import { DeepSafeService, DetectRequestSchema, DetectResponseSchema, Verdict, type DetectRequest, type DetectResponse } from "@deepsafe/proto/es/gateway";
import { HistoryService } from "@deepsafe/proto/es/history";
import { ensureFerretDB, startFerretDB, type FerretDBServer } from "../../deploy/local/ferretdb.js";
import { freePort } from "../../deploy/local/mesh.js";
import { issueToken } from "../src/auth/tokens.js";
import { Database } from "../src/db.js";
import { historyRecord } from "../src/history/record.js";
import { HistoryStore } from "../src/history/store.js";
import { parseRegistry, type Registry } from "../src/registry.js";
import * as S from "../src/rest/schemas.js";
import { startGateway, type Gateway } from "../src/server.js";
import { startFakeDetector, type FakeDetector } from "./fake-detector.js";
import { call } from "./http-helpers.js";

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(40_000, 5)]);
const WAV = Buffer.concat([Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt ", "latin1"), Buffer.alloc(2000, 1)]);
const FAST_HASH = { memoryCost: 8192, timeCost: 2, parallelism: 1 };
const API_KEY = "connect-test-key-0123456789abcdef";

let skipReason = "";
let db: FerretDBServer;
let fake: FakeDetector;
let voice: FakeDetector;
let registry: Registry;
let gw: Gateway;

type Clients = { accounts: Client<typeof AccountService>; history: Client<typeof HistoryService>; detect: Client<typeof DeepSafeService> };
const clientsOf = (t: Transport): Clients => ({
  accounts: createClient(AccountService, t),
  history: createClient(HistoryService, t),
  detect: createClient(DeepSafeService, t),
});
let connect: Clients;
let grpc: Clients;

test.before(async () => {
  let bin: string;
  try {
    bin = await ensureFerretDB((m) => console.log(`  ${m}`));
  } catch (err) {
    if (process.env.CI) throw err; // CI builds FerretDB: there a missing server is a failure, not a skip
    skipReason = (err as Error).message;
    console.log(`  SKIP AccountService/HistoryService tests against MongoDB: ${skipReason}`);
    return;
  }
  db = await startFerretDB({ bin, dataDir: mkdtempSync(join(tmpdir(), "deepsafe-ferretdb-")), port: await freePort() });
  fake = await startFakeDetector("fake1", { probability: 0.8 });
  voice = await startFakeDetector("voice", { probability: 0.3, mediaType: 3 });
  registry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1", health_interval_ms: 200 },
    history: { max_page: 3 },
    auth: { login_rate: { burst: 4, per_minute: 2 } },
    detectors: [
      { name: "fake1", package: "t", media_type: "image", address: fake.address },
      { name: "voice", package: "t", media_type: "audio", address: voice.address },
    ],
  });
  gw = await startGateway({
    registry,
    mongodbUri: db.uri,
    dataDir: mkdtempSync(join(tmpdir(), "deepsafe-gw-")),
    env: { DEEPSAFE_API_KEYS: `ci=${API_KEY}` },
    passwordHashing: FAST_HASH,
    historyRetryMs: { min: 100, max: 500 },
    log: () => {},
  });
  for (let i = 0; i < 100 && (await call(gw.url, "/health")).body.history !== "connected"; i++) await new Promise((r) => setTimeout(r, 100));
  connect = clientsOf(createConnectTransport({ baseUrl: gw.url, httpVersion: "1.1" }));
  grpc = clientsOf(createGrpcTransport({ baseUrl: gw.url }));
});

test.after(async () => {
  await gw?.close();
  await fake?.stop();
  await voice?.stop();
  await db?.stop();
});

/** The ConnectError a call fails with (the test fails when it succeeds). */
async function failure(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected the call to fail");
}

async function assertCode(p: Promise<unknown>, code: Code, message?: RegExp): Promise<ConnectError> {
  const err = await failure(p);
  assert.is(Code[err.code], Code[code], err.message);
  if (message) assert.match(err.rawMessage, message);
  return err;
}

async function* upload(bytes: Buffer, fileName: string): AsyncGenerator<DetectRequest> {
  yield create(DetectRequestSchema, { payload: { case: "header", value: { fileName } } });
  yield create(DetectRequestSchema, { payload: { case: "chunk", value: bytes } });
}

const tokens: Record<string, string> = {};
const bearer = (user: string) => ({ authorization: `Bearer ${tokens[user]}` });
const detections: Record<string, DetectResponse> = {};

test("register → login → GetMe, over Connect and over gRPC", async () => {
  if (skipReason) return;
  const reg = await connect.accounts.register({ username: "ada", password: "ada's long password", email: "ada@example.org", fullName: "Ada L" });
  assert.is(reg.tokenType, "bearer");
  assert.is(reg.expiresIn, registry.auth.token_minutes * 60);
  assert.ok(reg.accessToken.split(".").length === 3, "a JWT");
  assert.equal([reg.user?.username, reg.user?.email, reg.user?.fullName, reg.user?.disabled], ["ada", "ada@example.org", "Ada L", false]);
  const regBob = await grpc.accounts.register({ username: "bob", password: "bob's long password" });
  assert.is(regBob.user?.email, "");

  // The registration token works at once; logins over both protocols give working tokens too.
  const meFromRegistration = await grpc.accounts.getMe({}, { headers: { authorization: `Bearer ${reg.accessToken}` } });
  assert.is(meFromRegistration.user?.username, "ada");
  const viaConnect = await connect.accounts.login({ username: "ada", password: "ada's long password" });
  assert.is(viaConnect.tokenType, "bearer");
  assert.is(viaConnect.expiresIn, registry.auth.token_minutes * 60);
  const viaGrpc = await grpc.accounts.login({ username: "ADA", password: "ada's long password" }); // usernames are case-insensitive
  tokens.ada = viaGrpc.accessToken;
  tokens.bob = (await grpc.accounts.login({ username: "bob", password: "bob's long password" })).accessToken;

  for (const [c, token] of [[connect, viaConnect.accessToken], [grpc, viaGrpc.accessToken]] as const) {
    const me = await c.accounts.getMe({}, { headers: { authorization: `Bearer ${token}` } });
    assert.is(me.kind, AccountKind.USER);
    assert.equal([me.user?.username, me.user?.email, me.user?.fullName, me.user?.disabled], ["ada", "ada@example.org", "Ada L", false]);
  }
  // The same account through REST (one implementation behind both).
  const rest = await call(gw.url, "/users/me", { headers: bearer("ada") });
  assert.equal(S.User.parse(rest.body), { username: "ada", email: "ada@example.org", full_name: "Ada L", disabled: false });

  const key = await connect.accounts.getMe({}, { headers: { "x-api-key": API_KEY } });
  assert.is(key.kind, AccountKind.API_KEY);
  assert.is(key.user?.username, "apikey:ci");
});

test("typed errors: ALREADY_EXISTS, INVALID_ARGUMENT, UNAUTHENTICATED", async () => {
  if (skipReason) return;
  await assertCode(connect.accounts.register({ username: "Ada", password: "another long password" }), Code.AlreadyExists, /already registered/);
  await assertCode(grpc.accounts.register({ username: "ADA", password: "another long password" }), Code.AlreadyExists);
  await assertCode(connect.accounts.register({ username: "carol", password: "short" }), Code.InvalidArgument, /^password: /);
  await assertCode(grpc.accounts.register({ username: "no spaces allowed", password: "a long password" }), Code.InvalidArgument, /^username: /);
  await assertCode(connect.accounts.login({ username: "", password: "x" }), Code.InvalidArgument, /username/);

  await assertCode(connect.accounts.login({ username: "ada", password: "not the password" }), Code.Unauthenticated, /Incorrect username or password/);
  await assertCode(grpc.accounts.login({ username: "nobody", password: "whatever it is" }), Code.Unauthenticated);
  for (const c of [connect, grpc]) {
    await assertCode(c.accounts.getMe({}), Code.Unauthenticated, /Not authenticated/);
    await assertCode(c.accounts.getMe({}, { headers: { authorization: "Bearer not.a.token" } }), Code.Unauthenticated, /malformed/);
    await assertCode(c.accounts.getMe({}, { headers: { authorization: `Bearer ${tokens.ada}x` } }), Code.Unauthenticated);
    await assertCode(c.accounts.getMe({}, { headers: { "x-api-key": "wrong-key-0123456789abcdef" } }), Code.Unauthenticated, /invalid API key/);
    await assertCode(c.history.listAnalyses({}), Code.Unauthenticated);
    await assertCode(c.history.listAnalyses({}, { headers: { authorization: "Basic abc" } }), Code.Unauthenticated);
    await assertCode(c.history.getAnalysis({ requestId: "x" }, { headers: { authorization: "Bearer nope" } }), Code.Unauthenticated);
    await assertCode(c.detect.detect(upload(JPEG, "x.jpg"), { headers: { authorization: "Bearer nope" } }), Code.Unauthenticated);
  }
});

test("a Detect with the token is in the caller's history: ListAnalyses and GetAnalysis over both protocols", async () => {
  if (skipReason) return;
  const t0 = Date.now();
  detections.ada1 = await connect.detect.detect(upload(JPEG, "ada1.jpg"), { headers: bearer("ada") });
  detections.ada2 = await grpc.detect.detect(upload(WAV, "ada2.wav"), { headers: bearer("ada") });
  detections.bob1 = await grpc.detect.detect(upload(JPEG, "bob1.jpg"), { headers: bearer("bob") });
  detections.key1 = await connect.detect.detect(upload(JPEG, "key1.jpg"), { headers: { "x-api-key": API_KEY } });
  assert.ok(await gw.historyFlushed(10_000), "history written");

  for (const c of [connect, grpc]) {
    const page = await c.history.listAnalyses({}, { headers: bearer("ada") });
    assert.is(page.total, 2);
    assert.is(page.limit, 3, "0 means the largest page");
    assert.equal(page.records.map((r) => r.requestId), [detections.ada2!.requestId, detections.ada1!.requestId], "newest first");
    const a1 = page.records[1]!;
    assert.is(a1.mediaType, MediaType.IMAGE);
    assert.is(a1.verdict, Verdict.FAKE);
    assert.is(a1.ensembleScore, detections.ada1!.ensembleScore);
    assert.is(a1.fileName, "ada1.jpg");
    assert.is(a1.size, BigInt(JPEG.length));
    assert.is(a1.sha256, createHash("sha256").update(JPEG).digest("hex"));
    assert.is(a1.method, "connect_detect");
    assert.is(a1.response, undefined, "the full result only through GetAnalysis");
    const at = timestampDate(a1.createdAt!).getTime();
    assert.ok(at >= t0 - 1000 && at <= Date.now() + 1000, `created_at ${at}`);

    const audio = await c.history.listAnalyses({ mediaType: MediaType.AUDIO }, { headers: bearer("ada") });
    assert.equal(audio.records.map((r) => r.fileName), ["ada2.wav"]);
    const second = await c.history.listAnalyses({ limit: 1, offset: 1 }, { headers: bearer("ada") });
    assert.equal([second.total, second.limit, second.offset], [2, 1, 1]);
    assert.equal(second.records.map((r) => r.requestId), [detections.ada1!.requestId]);
    await assertCode(c.history.listAnalyses({ limit: -1 }, { headers: bearer("ada") }), Code.InvalidArgument, /^limit: /);
    await assertCode(c.history.listAnalyses({ offset: -5 }, { headers: bearer("ada") }), Code.InvalidArgument, /^offset: /);
    await assertCode(c.history.listAnalyses({ mediaType: 42 as MediaType }, { headers: bearer("ada") }), Code.InvalidArgument, /media_type/);

    const got = await c.history.getAnalysis({ requestId: detections.ada1!.requestId }, { headers: bearer("ada") });
    assert.ok(equals(DetectResponseSchema, got.analysis!.response!, detections.ada1!), "the stored DetectResponse is the one Detect returned");
    assert.is(got.analysis!.requestId, detections.ada1!.requestId);
    await assertCode(c.history.getAnalysis({ requestId: "" }, { headers: bearer("ada") }), Code.InvalidArgument, /request_id/);
    await assertCode(c.history.getAnalysis({ requestId: "no-such-record" }, { headers: bearer("ada") }), Code.NotFound);
  }
  // REST reads the same store: the record made over Connect is in GET /history too.
  const rest = S.HistoryPage.parse((await call(gw.url, "/history", { headers: bearer("ada") })).body);
  assert.equal(rest.records.map((r) => r.request_id), [detections.ada2!.requestId, detections.ada1!.requestId]);
});

test("each caller sees only their own: another user's record is NOT_FOUND and never listed", async () => {
  if (skipReason) return;
  for (const c of [connect, grpc]) {
    const bobs = await c.history.listAnalyses({}, { headers: bearer("bob") });
    assert.equal(bobs.records.map((r) => r.requestId), [detections.bob1!.requestId]);
    assert.is(bobs.total, 1);
    await assertCode(c.history.getAnalysis({ requestId: detections.ada1!.requestId }, { headers: bearer("bob") }), Code.NotFound, /Analysis not found/);
    await assertCode(c.history.getAnalysis({ requestId: detections.bob1!.requestId }, { headers: bearer("ada") }), Code.NotFound);
    // An API key has its own history.
    const keys = await c.history.listAnalyses({}, { headers: { "x-api-key": API_KEY } });
    assert.equal(keys.records.map((r) => r.requestId), [detections.key1!.requestId]);
    await assertCode(c.history.getAnalysis({ requestId: detections.key1!.requestId }, { headers: bearer("ada") }), Code.NotFound);
  }
});

test("records written before detect_response was stored: GetAnalysis rebuilds the DetectResponse", async () => {
  if (skipReason) return;
  const database = new Database({ uri: db.uri, log: () => {} });
  const store = new HistoryStore(database);
  database.start();
  await database.whenReady();
  try {
    const original = create(DetectResponseSchema, { ...detections.ada1!, requestId: "legacy-1" });
    const { detect_response: _dropped, ...legacy } = historyRecord(original, {
      user: "user:ada", method: "rest_detect", size: JPEG.length, sha256: "0".repeat(64), createdAt: new Date(),
    });
    await store.insert([legacy]);
  } finally {
    await database.close();
  }
  const got = (await grpc.history.getAnalysis({ requestId: "legacy-1" }, { headers: bearer("ada") })).analysis!.response!;
  const want = detections.ada1!;
  assert.equal(
    [got.requestId, got.mediaType, got.verdict, got.confidenceInVerdict, got.ensembleScore, got.ensembleMethodUsed, got.threshold, got.totalVotes, got.fakeVotes, got.receivedBytes],
    ["legacy-1", want.mediaType, want.verdict, want.confidenceInVerdict, want.ensembleScore, want.ensembleMethodUsed, want.threshold, want.totalVotes, want.fakeVotes, want.receivedBytes],
  );
  const [g, w] = [got.modelResults[0]!, want.modelResults[0]!];
  assert.equal(
    [g.model, g.usedInVerdict, g.weightsKind, g.prediction?.probabilityFake, g.prediction?.prediction, g.prediction?.modelVersion],
    [w.model, w.usedInVerdict, w.weightsKind, w.prediction?.probabilityFake, w.prediction?.prediction, w.prediction?.modelVersion],
  );
});

test("login attempts are rate-limited: RESOURCE_EXHAUSTED with retry-after", async () => {
  if (skipReason) return;
  await connect.accounts.register({ username: "mallory", password: "mallory's password" });
  const codes: string[] = [];
  for (let i = 0; i < 6; i++) codes.push(Code[(await failure(connect.accounts.login({ username: "mallory", password: `guess number ${i}` }))).code]);
  assert.equal(codes, ["Unauthenticated", "Unauthenticated", "Unauthenticated", "Unauthenticated", "ResourceExhausted", "ResourceExhausted"]);
  const limited = await assertCode(grpc.accounts.login({ username: "mallory", password: "mallory's password" }), Code.ResourceExhausted, /too many login attempts/);
  assert.ok(Number(limited.metadata.get("retry-after")) >= 1, "retry-after in the metadata");
  assert.ok((await grpc.accounts.login({ username: "bob", password: "bob's long password" })).accessToken, "other users are not locked out");
});

test("without MongoDB: accounts and history are UNAVAILABLE, detection still works", async () => {
  const det = await startFakeDetector("solo", { probability: 0.6 });
  const secret = "connect-accounts-test-secret-0123456789abcdefgh";
  const offRegistry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1", health_interval_ms: 200 },
    detectors: [{ name: "solo", package: "t", media_type: "image", address: det.address }],
  });
  const off = await startGateway({
    registry: offRegistry,
    mongodbUri: null,
    dataDir: mkdtempSync(join(tmpdir(), "deepsafe-gw-off-")),
    env: { DEEPSAFE_JWT_SECRET: secret },
    log: () => {},
  });
  try {
    const c = clientsOf(createGrpcTransport({ baseUrl: off.url }));
    await assertCode(c.accounts.register({ username: "ada", password: "a long password" }), Code.Unavailable, /accounts is unavailable/);
    await assertCode(c.accounts.login({ username: "ada", password: "a long password" }), Code.Unavailable);
    const err = await assertCode(createClient(AccountService, createConnectTransport({ baseUrl: off.url, httpVersion: "1.1" })).login({ username: "ada", password: "x" }), Code.Unavailable);
    assert.is(err.metadata.get("retry-after"), "5");
    // A valid token (same secret) gets past authentication, then history is unavailable.
    const a = offRegistry.auth;
    const token = await issueToken(
      { secret: new TextEncoder().encode(secret), issuer: a.issuer, audience: a.audience, minutes: a.token_minutes, clockToleranceS: a.clock_tolerance_s },
      "ada",
    );
    const headers = { authorization: `Bearer ${token}` };
    await assertCode(c.history.listAnalyses({}, { headers }), Code.Unavailable, /history is unavailable/);
    await assertCode(c.history.getAnalysis({ requestId: "x" }, { headers }), Code.Unavailable);
    await assertCode(c.accounts.getMe({}, { headers }), Code.Unavailable);
    const res = await c.detect.detect(upload(JPEG, "a.jpg"), { headers });
    assert.is(res.verdict, Verdict.FAKE);
  } finally {
    await off.close();
    await det.stop();
  }
});

test.run();
