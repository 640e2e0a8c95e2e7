import { createRequire } from "node:module";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import sharp from "sharp";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { Prediction, WeightsKind } from "@deepsafe/proto/grpc/common";
import { createDetectorClient, predictBytes, serveDetector, DETECTOR_SERVICE, LIVENESS_SERVICE } from "../src/index.js";
import { BrightnessModel } from "./brightness-model.js";

const require = createRequire(import.meta.url);
const healthProto = grpc.loadPackageDefinition(loadSync(healthProtoPath, { enums: String })) as any;

function healthCheck(address: string, service: string): Promise<string> {
  const client = new healthProto.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) =>
    client.check({ service }, (err: grpc.ServiceError | null, res: { status: string }) => {
      client.close();
      err ? reject(err) : resolve(res.status);
    }),
  );
}

const png = (value: number, size = 64) =>
  sharp({ create: { width: size, height: size, channels: 3, background: { r: value, g: value, b: value } } })
    .png()
    .toBuffer();

async function expectCode(promise: Promise<unknown>, code: grpc.status, pattern?: RegExp) {
  try {
    await promise;
  } catch (err) {
    const e = err as grpc.ServiceError;
    assert.is(grpc.status[e.code], grpc.status[code], e.details);
    if (pattern) assert.match(e.details, pattern);
    return e;
  }
  assert.unreachable(`expected ${grpc.status[code]}`);
}

test("readiness is NOT_SERVING while loading, SERVING after; liveness always SERVING", async () => {
  const model = new BrightnessModel();
  model.loadDelayMs = 300;
  const handle = await serveDetector(model, { port: 0, metricsPort: -1, handleSignals: false });
  const address = `127.0.0.1:${handle.port}`;
  assert.is(await healthCheck(address, DETECTOR_SERVICE), "NOT_SERVING");
  assert.is(await healthCheck(address, LIVENESS_SERVICE), "SERVING");
  await new Promise((r) => setTimeout(r, 500));
  assert.is(await healthCheck(address, DETECTOR_SERVICE), "SERVING");
  assert.is(await healthCheck(address, ""), "SERVING");
  await handle.drain();
});

test("predict streams chunks and reports weights, timings and the class", async () => {
  const handle = await serveDetector(new BrightnessModel(), { port: 0, metricsPort: 0, handleSignals: false });
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  const white = await predictBytes(client, { header: { threshold: 0.5 }, bytes: await png(255), chunkBytes: 100 });
  assert.ok(Math.abs(white.probabilityFake - 1) < 1e-9);
  assert.is(white.prediction, Prediction.PREDICTION_FAKE);
  assert.is(white.weightsKind, WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE);
  assert.ok(white.timings!.totalSeconds > 0);
  const dark = await predictBytes(client, { header: {}, bytes: await png(20) });
  assert.is(dark.prediction, Prediction.PREDICTION_REAL);
  assert.is(dark.threshold, 0.5);

  const metrics = await (await fetch(`http://127.0.0.1:${handle.metricsPort}/metrics`)).text();
  assert.match(metrics, /deepsafe_detector_requests_total\{model="brightness",version="1",outcome="ok"\} 2/);
  assert.match(metrics, /deepsafe_detector_queue_duration_seconds_count\{model="brightness",version="1"\} 2/);
  client.close();
  await handle.drain();
});

test("bad inputs get typed errors and the server keeps serving", async () => {
  const handle = await serveDetector(new BrightnessModel(), { port: 0, metricsPort: -1, handleSignals: false });
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  const good = await png(128);
  await expectCode(predictBytes(client, { header: {}, bytes: good.subarray(0, good.length / 2) }), grpc.status.INVALID_ARGUMENT);
  await expectCode(predictBytes(client, { header: {}, bytes: Buffer.from("not an image at all") }), grpc.status.INVALID_ARGUMENT);
  await expectCode(predictBytes(client, { header: { threshold: 2 }, bytes: good }), grpc.status.INVALID_ARGUMENT, /threshold/);
  // Declared over the limit: refused before any chunk.
  await expectCode(predictBytes(client, { header: { declaredSize: 5 << 20 }, bytes: good }), grpc.status.RESOURCE_EXHAUSTED);
  // Undeclared but over the limit: refused while streaming.
  await expectCode(predictBytes(client, { header: { declaredSize: 0 }, bytes: Buffer.alloc(2 << 20) }), grpc.status.RESOURCE_EXHAUSTED, /over the limit/);
  // A PNG header declaring 100000 x 100000 pixels.
  const bomb = Buffer.from(good);
  bomb.writeUInt32BE(100000, 16);
  bomb.writeUInt32BE(100000, 20);
  await expectCode(predictBytes(client, { header: {}, bytes: bomb }), grpc.status.INVALID_ARGUMENT, /pixel|limit|decodable|corrupt/i);
  const still = await predictBytes(client, { header: {}, bytes: good });
  assert.is(still.prediction, Prediction.PREDICTION_FAKE);
  client.close();
  await handle.drain();
});

test("over capacity is RESOURCE_EXHAUSTED at once; deadlines are honoured", async () => {
  const handle = await serveDetector(new BrightnessModel(), {
    port: 0, metricsPort: -1, handleSignals: false, maxConcurrent: 1, maxQueued: 1,
  });
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  const img = await png(200);
  const slow = { header: { options: { delay_ms: "400" } }, bytes: img };
  const first = predictBytes(client, slow);
  const second = predictBytes(client, slow);
  await new Promise((r) => setTimeout(r, 100));
  const started = performance.now();
  await expectCode(predictBytes(client, slow), grpc.status.RESOURCE_EXHAUSTED, /capacity/);
  assert.ok(performance.now() - started < 300, "rejection must not wait for a slot");
  await Promise.all([first, second]);
  await expectCode(predictBytes(client, { ...slow, deadlineMs: 150 }), grpc.status.DEADLINE_EXCEEDED);
  client.close();
  await handle.drain();
});

test("drain flips readiness and lets the in-flight call finish", async () => {
  const handle = await serveDetector(new BrightnessModel(), { port: 0, metricsPort: -1, handleSignals: false });
  const address = `127.0.0.1:${handle.port}`;
  const client = createDetectorClient(address);
  const img = await png(200);
  await predictBytes(client, { header: {}, bytes: img });
  const inflight = predictBytes(client, { header: { options: { delay_ms: "300" } }, bytes: img });
  await new Promise((r) => setTimeout(r, 100));
  const drained = handle.drain();
  const result = await inflight;
  assert.is(result.prediction, Prediction.PREDICTION_FAKE);
  await drained;
  client.close();
});

test("lazy load reports SERVING at once and loads on the first call", async () => {
  const model = new BrightnessModel();
  const handle = await serveDetector(model, { port: 0, metricsPort: -1, handleSignals: false, load: "lazy" });
  const address = `127.0.0.1:${handle.port}`;
  assert.is(model.loads, 0);
  assert.is(await healthCheck(address, DETECTOR_SERVICE), "SERVING");
  const client = createDetectorClient(address);
  await predictBytes(client, { header: {}, bytes: await png(10) });
  await predictBytes(client, { header: {}, bytes: await png(10) });
  assert.is(model.loads, 1);
  client.close();
  await handle.drain();
});

test("server reflection lists the detector and health services", async () => {
  const handle = await serveDetector(new BrightnessModel(), { port: 0, metricsPort: -1, handleSignals: false });
  const reflectionProto = require.resolve("@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto");
  const pkg = grpc.loadPackageDefinition(loadSync(reflectionProto)) as any;
  const client = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${handle.port}`, grpc.credentials.createInsecure());
  const services = await new Promise<string[]>((resolve, reject) => {
    const call = client.ServerReflectionInfo();
    call.on("data", (res: { listServicesResponse?: { service: Array<{ name: string }> } }) => {
      resolve(res.listServicesResponse!.service.map((s) => s.name));
      call.end();
    });
    call.on("error", reject);
    call.write({ listServices: "" });
  });
  assert.ok(services.includes(DETECTOR_SERVICE), services.join(","));
  client.close();
  await handle.drain();
});

test.run();
