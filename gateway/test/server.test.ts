// The gateway over real loopback sockets, with fake detectors behind it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { MediaType, Prediction, WeightsKind } from "@deepsafe/proto/es/common";
import {
  DeepSafeService,
  DetectRequestSchema,
  EnsembleMethod,
  HealthStatus,
  ModelHealth,
  Verdict,
  type DetectHeader,
  type DetectRequest,
} from "@deepsafe/proto/es/gateway";
import { DeepSafeServiceClient } from "@deepsafe/proto/grpc/gateway";
import { WeightsKind as GWeightsKind } from "@deepsafe/proto/grpc/common";
import { startGateway, type Gateway } from "../src/server.js";
import { parseRegistry } from "../src/registry.js";
import { startFakeDetector, type FakeDetector } from "./fake-detector.js";

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200_000, 7)]);
const MAX_IMAGE = 1024 * 1024;

let fakes: Record<string, FakeDetector>;
let gw: Gateway;
let client: Client<typeof DeepSafeService>;

async function* upload(header: Partial<DetectHeader> | undefined, data: Buffer, chunk = 64 * 1024): AsyncGenerator<DetectRequest> {
  if (header) yield create(DetectRequestSchema, { payload: { case: "header", value: header as DetectHeader } });
  for (let o = 0; o < data.length; o += chunk) yield create(DetectRequestSchema, { payload: { case: "chunk", value: data.subarray(o, o + chunk) } });
}

async function rejects(p: Promise<unknown>, code: Code, pattern?: RegExp): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    const e = ConnectError.from(err);
    assert.is(Code[e.code], Code[code], e.message);
    if (pattern) assert.match(e.rawMessage, pattern);
    return e;
  }
  throw new Error(`expected ${Code[code]}`);
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.before(async () => {
  fakes = {
    fake1: await startFakeDetector("fake1", { probability: 0.9 }),
    real1: await startFakeDetector("real1", { probability: 0.2 }),
    broken: await startFakeDetector("broken", { error: { code: grpc.status.INTERNAL, message: "boom" } }),
    hang: await startFakeDetector("hang", { hang: true }),
    random: await startFakeDetector("random", { probability: 0.99, weightsKind: GWeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE }),
    picky: await startFakeDetector("picky", { error: { code: grpc.status.INVALID_ARGUMENT, message: "cannot decode" } }),
    audio: await startFakeDetector("audio", { probability: 0.1, mediaType: 3 }),
    slowreader: await startFakeDetector("slowreader", { probability: 0.7, pauseMs: 700 }),
  };
  const det = (name: string, extra: object = {}) => ({ name, package: "test", media_type: "image", address: fakes[name]!.address, default: false, ...extra });
  const registry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1", health_interval_ms: 100 },
    media: { image: { ensemble: "voting", max_upload_bytes: MAX_IMAGE } },
    detectors: [
      det("fake1", { default: true }),
      det("real1", { default: true }),
      det("broken"),
      det("hang", { deadline_ms: 300 }),
      det("random"),
      det("picky"),
      det("audio", { media_type: "audio" }),
      det("slowreader", { media_type: "audio" }),
      { name: "absent", package: "test", media_type: "image", address: "127.0.0.1:9", default: false, unavailable: "no official weights" },
    ],
  });
  gw = await startGateway({ registry, log: () => {} });
  client = createClient(DeepSafeService, createConnectTransport({ baseUrl: gw.url, httpVersion: "2" }));
});

test.after(async () => {
  await gw.close();
  for (const f of Object.values(fakes)) await f.stop();
});

test("Detect over Connect/h2: defaults, every byte forwarded, 1-1 vote is undetermined", async () => {
  const res = await client.detect(upload({ mediaType: MediaType.UNSPECIFIED, fileName: "x.jpg" }, JPEG));
  assert.is(res.mediaType, MediaType.IMAGE, "sniffed");
  assert.equal(res.modelResults.map((m) => m.model), ["fake1", "real1"]);
  assert.is(res.verdict, Verdict.UNDETERMINED);
  assert.is(res.ensembleMethodUsed, EnsembleMethod.VOTING);
  assert.is(res.fakeVotes, 1);
  assert.is(res.realVotes, 1);
  assert.is(res.receivedBytes, BigInt(JPEG.length));
  assert.is(res.fileName, "x.jpg");
  assert.ok(res.requestId.length > 0);
  for (const f of [fakes.fake1!, fakes.real1!]) {
    const call = f.calls.at(-1)!;
    assert.is(call.bytes, JPEG.length);
    assert.is(call.header?.mimeType, "image/jpeg");
    assert.is(call.header?.fileName, "x.jpg");
  }
  assert.ok(res.modelResults.every((m) => m.usedInVerdict && m.prediction?.probabilityFake !== undefined));
});

test("Detect: average over the same detectors is fake", async () => {
  const res = await client.detect(upload({ ensembleMethod: EnsembleMethod.AVERAGE, requestId: "r1" }, JPEG));
  assert.is(res.requestId, "r1");
  assert.is(res.verdict, Verdict.FAKE);
  assert.ok(Math.abs(res.ensembleScore! - 0.55) < 1e-9);
  assert.ok(Math.abs(res.confidenceInVerdict - 0.55) < 1e-9);
});

test("a detector the launcher did not start is listed with its reason and reported as failed", async () => {
  const listed = (await client.listModels({})).models.find((m) => m.name === "absent")!;
  assert.is(listed.health, ModelHealth.UNREACHABLE);
  assert.match(listed.healthDetail, /not running: no official weights/);
  const res = await client.detect(upload({ models: ["fake1", "absent"] }, JPEG));
  const absent = res.modelResults.find((r) => r.model === "absent")!;
  assert.is(absent.errorCode, "UNAVAILABLE");
  assert.match(absent.errorMessage, /no official weights/);
});

test("Detect: a failing detector gives a partial verdict", async () => {
  const res = await client.detect(upload({ models: ["fake1", "broken"] }, JPEG));
  assert.is(res.verdict, Verdict.FAKE);
  const broken = res.modelResults.find((m) => m.model === "broken")!;
  assert.is(broken.errorCode, "INTERNAL");
  assert.is(broken.errorMessage, "boom");
  assert.is(broken.usedInVerdict, false);
  assert.is(res.totalVotes, 1);
});

test("Detect: a hanging detector hits its deadline", async () => {
  const t0 = Date.now();
  const res = await client.detect(upload({ models: ["real1", "hang"] }, JPEG));
  assert.ok(Date.now() - t0 < 3000);
  const hang = res.modelResults.find((m) => m.model === "hang")!;
  assert.is(hang.errorCode, "DEADLINE_EXCEEDED");
  assert.is(res.verdict, Verdict.REAL);
});

test("Detect: random-weight fixtures are reported but do not vote unless asked", async () => {
  const res = await client.detect(upload({ models: ["real1", "random"] }, JPEG));
  const random = res.modelResults.find((m) => m.model === "random")!;
  assert.is(random.weightsKind, WeightsKind.RANDOM_FIXTURE);
  assert.is(random.usedInVerdict, false);
  assert.is(res.verdict, Verdict.REAL);
  const opted = await client.detect(upload({ models: ["real1", "random"], includeRandomWeights: true }, JPEG));
  assert.is(opted.verdict, Verdict.UNDETERMINED);
  assert.is(opted.totalVotes, 2);
});

test("Detect: missing header, unknown model, wrong media, no bytes -> INVALID_ARGUMENT", async () => {
  await rejects(client.detect(upload(undefined, JPEG)), Code.InvalidArgument, /first message must be a header/);
  await rejects(client.detect(upload({ models: ["nope"] }, JPEG)), Code.InvalidArgument, /unknown model "nope"; valid models: fake1, real1/);
  await rejects(client.detect(upload({ models: ["audio"] }, JPEG)), Code.InvalidArgument, /analyses audio, but the media is image/);
  await rejects(client.detect(upload({ mediaType: MediaType.VIDEO }, JPEG)), Code.InvalidArgument, /media_type is video, but the bytes are image\/jpeg/);
  await rejects(client.detect(upload({}, Buffer.alloc(0))), Code.InvalidArgument, /no media bytes/);
  await rejects(client.detect(upload({}, Buffer.from("just some text, not media at all........"))), Code.InvalidArgument, /set header.media_type/);
  await rejects(client.detect(upload({ threshold: 1.5 }, JPEG)), Code.InvalidArgument, /threshold/);
});

test("Detect: no detector configured for the media type -> UNAVAILABLE", async () => {
  const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 16]), Buffer.from("ftypisom\0\0\0\0", "latin1"), Buffer.alloc(1000)]);
  await rejects(client.detect(upload({}, mp4)), Code.Unavailable, /no detector is configured for video/);
});

test("Detect: every detector rejecting the media -> INVALID_ARGUMENT", async () => {
  await rejects(client.detect(upload({ models: ["picky"] }, JPEG)), Code.InvalidArgument, /picky: INVALID_ARGUMENT cannot decode/);
});

test("Detect: every detector failing otherwise -> UNAVAILABLE", async () => {
  await rejects(client.detect(upload({ models: ["broken", "hang"] }, JPEG)), Code.Unavailable, /every detector failed/);
});

test("Detect: declared size over the limit -> RESOURCE_EXHAUSTED before any byte", async () => {
  const before = fakes.fake1!.calls.length;
  await rejects(client.detect(upload({ mediaType: MediaType.IMAGE, declaredSize: BigInt(MAX_IMAGE + 1) }, JPEG)), Code.ResourceExhausted, /declared size/);
  assert.is(fakes.fake1!.calls.length, before, "no detector was called");
});

test("Detect: upload crossing the limit while streaming -> RESOURCE_EXHAUSTED, detectors cancelled", async () => {
  const big = Buffer.concat([JPEG, Buffer.alloc(MAX_IMAGE)]);
  await rejects(client.detect(upload({}, big)), Code.ResourceExhausted, /exceeds the 1048576-byte limit/);
  const call = fakes.fake1!.calls.at(-1)!;
  await until(() => call.cancelled);
  assert.ok(call.bytes <= MAX_IMAGE, `forwarded ${call.bytes}`);
});

test("Detect: client cancel cancels the detector calls", async () => {
  const ac = new AbortController();
  async function* slow() {
    yield create(DetectRequestSchema, { payload: { case: "header", value: { models: ["fake1"] } as unknown as DetectHeader } });
    yield create(DetectRequestSchema, { payload: { case: "chunk", value: JPEG.subarray(0, 1000) } });
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    await new Promise((r) => setTimeout(r, 10_000));
  }
  const before = fakes.fake1!.calls.length;
  await rejects(client.detect(slow(), { signal: ac.signal }), Code.Canceled);
  await until(() => fakes.fake1!.calls.length > before && fakes.fake1!.calls.at(-1)!.cancelled);
});

test("Detect: a slow detector holds back the upload (backpressure) without losing bytes", async () => {
  // WAV bytes so the audio limit (default 50 MiB) applies; 8 MiB upload.
  const wav = Buffer.concat([Buffer.from("RIFF\0\0\0\0WAVEfmt ", "latin1"), Buffer.alloc(8 * 1024 * 1024 - 16, 1)]);
  let pulled = 0;
  let pulledWhilePaused = 0;
  async function* counting() {
    for await (const m of upload({ models: ["audio", "slowreader"] }, wav)) {
      if (m.payload.case === "chunk") pulled += m.payload.value.length;
      yield m;
    }
  }
  const t = setTimeout(() => (pulledWhilePaused = pulled), 500);
  const res = await client.detect(counting());
  clearTimeout(t);
  assert.ok(pulledWhilePaused > 0 && pulledWhilePaused < wav.length / 2, `pulled ${pulledWhilePaused} of ${wav.length} while paused`);
  assert.is(fakes.slowreader!.calls.at(-1)!.bytes, wav.length);
  assert.is(fakes.audio!.calls.at(-1)!.bytes, wav.length);
  assert.is(res.totalVotes, 2);
});

test("Detect over gRPC (h2) and gRPC-Web", async () => {
  const grpcClient = createClient(DeepSafeService, createGrpcTransport({ baseUrl: gw.url }));
  const a = await grpcClient.detect(upload({ ensembleMethod: EnsembleMethod.AVERAGE }, JPEG));
  assert.is(a.verdict, Verdict.FAKE);
  const webClient = createClient(DeepSafeService, createGrpcWebTransport({ baseUrl: gw.url, httpVersion: "2" }));
  const b = await webClient.detect(upload({ ensembleMethod: EnsembleMethod.AVERAGE }, JPEG));
  assert.is(b.verdict, Verdict.FAKE);
  const web1 = createClient(DeepSafeService, createGrpcWebTransport({ baseUrl: gw.url, httpVersion: "1.1" }));
  const h = await web1.getHealth({});
  assert.is(h.models.length, 9);
});

test("a plain grpc-js client works too", async () => {
  const c = new DeepSafeServiceClient(gw.url.replace("http://", ""), grpc.credentials.createInsecure());
  const res = await new Promise<{ models: unknown[] }>((resolve, reject) => c.listModels({ mediaType: 0 }, (e, r) => (e ? reject(e) : resolve(r))));
  assert.is(res.models.length, 9);
  c.close();
});

test("ListModels over HTTP/1.1 (Connect JSON via fetch) on the same port", async () => {
  const res = await fetch(`${gw.url}/deepsafe.v1.DeepSafeService/ListModels`, {
    method: "POST",
    headers: { "content-type": "application/json", "connect-protocol-version": "1" },
    body: JSON.stringify({ mediaType: "MEDIA_TYPE_IMAGE" }),
  });
  assert.is(res.status, 200);
  const body = (await res.json()) as { models: { name: string; health: string; votes?: boolean; default?: boolean; info?: { weights?: { kind: string } } }[] };
  assert.is(body.models.length, 7);
  const fake1 = body.models.find((m) => m.name === "fake1")!;
  assert.is(fake1.health, "MODEL_HEALTH_SERVING");
  assert.is(fake1.default, true);
  assert.is(fake1.votes, true);
  assert.is(fake1.info?.weights?.kind, "WEIGHTS_KIND_OFFICIAL");
  assert.is(body.models.find((m) => m.name === "random")!.votes ?? false, false);
});

test("a dead detector is UNREACHABLE, and serves again after it restarts", async () => {
  const real1 = fakes.real1!;
  await real1.stop();
  await until(async () => (await client.listModels({})).models.find((m) => m.name === "real1")!.health === ModelHealth.UNREACHABLE);
  const h = await client.getHealth({});
  assert.is(h.status, HealthStatus.DEGRADED);
  const image = h.mediaTypes.find((m) => m.mediaType === MediaType.IMAGE)!;
  assert.is(image.status, HealthStatus.DEGRADED);
  assert.ok(image.serving < image.configured);
  const partial = await client.detect(upload({}, JPEG));
  assert.is(partial.modelResults.find((m) => m.model === "real1")!.errorCode, "UNAVAILABLE");
  assert.is(partial.verdict, Verdict.FAKE);
  await rejects(client.detect(upload({ models: ["real1"] }, JPEG)), Code.Unavailable, /not serving|no selected/);

  await real1.restart();
  await until(async () => (await client.listModels({})).models.find((m) => m.name === "real1")!.health === ModelHealth.SERVING);
  const res = await client.detect(upload({ models: ["real1"] }, JPEG));
  assert.is(res.verdict, Verdict.REAL);
  assert.is(res.modelResults[0]!.prediction?.prediction, Prediction.REAL);
});

test("close() lets an in-flight Detect finish", async () => {
  const slowFake = await startFakeDetector("slow", { probability: 0.8, delayMs: 400 });
  const registry = parseRegistry({
    gateway: { port: 0, host: "127.0.0.1" },
    detectors: [{ name: "slow", package: "test", media_type: "image", address: slowFake.address }],
  });
  const g = await startGateway({ registry, log: () => {} });
  const c = createClient(DeepSafeService, createConnectTransport({ baseUrl: g.url, httpVersion: "2" }));
  const pending = c.detect(upload({}, JPEG));
  await until(() => slowFake.calls.length > 0 && slowFake.calls[0]!.ended);
  const closed = g.close();
  const res = await pending;
  assert.is(res.verdict, Verdict.FAKE);
  await closed;
  await slowFake.stop();
});

test.run();
