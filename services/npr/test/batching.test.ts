// Dynamic batching on the real NPR ONNX graph: batched logits equal unbatched ones image by image,
// and over real gRPC a full batch is one model call, a queued call past its deadline is dropped,
// and admission control still sheds with RESOURCE_EXHAUSTED while a batch is forming.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createDetectorClient, predictBytes, serveDetector, type DetectorHandle, type PredictContext } from "@deepsafe/sdk";
import { NprModel } from "../src/model.js";
import { fixturesDir, runPython } from "../scripts/python.js";

const modelDir = join(fixturesDir, "model");
const imageDir = join(fixturesDir, "images");
runPython("export.py", ["--random-seed", "0", "--out-dir", modelDir]);
runPython("make_fixtures.py", [imageDir]);
const files = (JSON.parse(readFileSync(join(imageDir, "fixtures.json"), "utf8")) as { files: string[] }).files.slice(0, 8);
const images = files.map((f) => readFileSync(join(imageDir, f)));
/** Batched and unbatched runs differ only in float accumulation order inside the convolutions. */
const TOLERANCE = 1e-4;

const context = (signal = new AbortController().signal): PredictContext => ({
  requestId: "", threshold: 0.5, options: {}, mimeType: "", fileName: "", signal,
});

async function unbatchedLogits(): Promise<number[]> {
  const model = new NprModel();
  await model.load({ modelDir, intraOpThreads: 1 });
  try {
    const logits: number[] = [];
    for (const bytes of images) logits.push((await model.predict(await model.decode(bytes), context())).logit!);
    return logits;
  } finally {
    await model.dispose();
  }
}
let reference: number[] = [];
test.before(async () => {
  reference = await unbatchedLogits();
});

test("8 different images in one batch: each caller gets its own logit, equal to the unbatched one", async () => {
  const sizes: number[] = [];
  const model = new NprModel();
  await model.load({
    modelDir,
    intraOpThreads: 1,
    batching: { maxBatchSize: 8, maxQueueDelayMs: 60_000 },
    observeBatch: (o) => sizes.push(o.size),
  });
  try {
    const decoded = await Promise.all(images.map((bytes) => model.decode(bytes)));
    const results = await Promise.all(decoded.map((image) => model.predict(image, context())));
    assert.equal(sizes, [8], "one model call for the eight requests");
    const deltas = results.map((r, i) => Math.abs(r.logit! - reference[i]!));
    const maxDelta = Math.max(...deltas);
    console.log(`  batched vs unbatched NPR logits over ${images.length} images: max |Δ| = ${maxDelta.toExponential(2)}`);
    assert.ok(maxDelta <= TOLERANCE, `max |Δ| ${maxDelta}`);
    // Different images give different logits, so a shuffled assignment could not pass the check above.
    assert.ok(new Set(reference.map((x) => x.toFixed(3))).size > 4, `reference logits ${reference}`);
  } finally {
    await model.dispose();
  }
});

async function serveBatched(maxBatchSize: number, maxQueueDelayMs: number, extra: { maxConcurrent?: number; maxQueued?: number } = {}): Promise<DetectorHandle> {
  return serveDetector(new NprModel(), {
    port: 0,
    metricsPort: 0,
    handleSignals: false,
    modelDir,
    intraOpThreads: 1,
    batching: { maxBatchSize, maxQueueDelayMs },
    ...extra,
  });
}

async function metric(handle: DetectorHandle, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${handle.metricsPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

test("over gRPC: four concurrent calls make one batch of four, with the unbatched logits", async () => {
  // The delay is far longer than the test: the batch can only have run because it filled.
  const handle = await serveBatched(4, 60_000);
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  try {
    const responses = await Promise.all(images.slice(0, 4).map((bytes) => predictBytes(client, { header: {}, bytes })));
    responses.forEach((r, i) => assert.ok(Math.abs(r.logit! - reference[i]!) <= TOLERANCE, `${files[i]}: ${r.logit} vs ${reference[i]}`));
    assert.is(await metric(handle, "deepsafe_detector_batch_size_count"), 1);
    assert.is(await metric(handle, "deepsafe_detector_batch_size_sum"), 4);
    assert.is(await metric(handle, "deepsafe_detector_batch_queue_duration_seconds_count"), 4);
  } finally {
    client.close();
    await handle.drain();
  }
});

test("over gRPC: a call whose deadline passes while it waits for a batch is dropped; the detector keeps serving", async () => {
  const handle = await serveBatched(4, 60_000);
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  try {
    try {
      await predictBytes(client, { header: {}, bytes: images[0]!, deadlineMs: 1500 });
      assert.unreachable("a lone call cannot fill a batch of 4 before its deadline");
    } catch (err) {
      assert.is((err as grpc.ServiceError).code, grpc.status.DEADLINE_EXCEEDED, (err as Error).message);
    }
    assert.is(await metric(handle, "deepsafe_detector_batch_size_count"), 0, "the expired item never reached the model");
    const responses = await Promise.all(images.slice(4, 8).map((bytes) => predictBytes(client, { header: {}, bytes })));
    responses.forEach((r, i) => assert.ok(Math.abs(r.logit! - reference[i + 4]!) <= TOLERANCE));
    assert.is(await metric(handle, "deepsafe_detector_batch_size_sum"), 4);
  } finally {
    client.close();
    await handle.drain();
  }
});

test("over gRPC: admission control still sheds with RESOURCE_EXHAUSTED while a batch forms", async () => {
  // 2 running + 1 queued admitted; the batch of up to 8 cannot fill, so they wait out the 3 s delay.
  const handle = await serveBatched(8, 3000, { maxConcurrent: 2, maxQueued: 1 });
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  try {
    const admitted = images.slice(0, 3).map((bytes) => predictBytes(client, { header: {}, bytes }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    try {
      await predictBytes(client, { header: {}, bytes: images[3]! });
      assert.unreachable("a fourth call is over capacity");
    } catch (err) {
      assert.is((err as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
    }
    const responses = await Promise.all(admitted);
    responses.forEach((r, i) => assert.ok(Math.abs(r.logit! - reference[i]!) <= TOLERANCE));
  } finally {
    client.close();
    await handle.drain();
  }
});

test.run();
