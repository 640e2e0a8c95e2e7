// The service end to end over real gRPC (serveDetector on port 0, the random-weight fixture, the SDK's YuNet):
// videos made with ffmpeg from a real face photo; per-frame segments for the UI timeline; the video rule with
// one and with two people (checked against our Python implementation of upstream's aggregation); no face ->
// UNDETERMINED with a reason; truncated and audio-only files -> INVALID_ARGUMENT.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/grpc/common";
import { createDetectorClient, predictBytes, serveDetector, type DetectorHandle } from "@deepsafe/sdk";
import { CrossEfficientViTModel } from "../src/model.js";
import { runPython } from "../scripts/python.js";
import {
  faceDetectorUnavailable,
  ffmpegUnavailable,
  findPhotos,
  makeVideos,
  pythonUnavailable,
  randomFixture,
  tempDir,
  type TestVideos,
} from "./helpers.js";

const skipWhy = pythonUnavailable() ?? faceDetectorUnavailable() ?? ffmpegUnavailable();
const photos = skipWhy ? { why: skipWhy } : findPhotos();
const why = skipWhy ?? photos.why;
if (why) console.log(`\n  SKIPPED cross-efficient-vit service tests: ${why}\n`);
const serviceTest = why ? test.skip : test;

let handle: DetectorHandle | undefined;
let videos: TestVideos | undefined;

async function predict(file: string) {
  if (!handle) {
    const fx = await randomFixture();
    handle = await serveDetector(new CrossEfficientViTModel({ faceDetectorDir: fx.faceDetectorDir }), {
      port: 0,
      metricsPort: -1,
      handleSignals: false,
      modelDir: fx.modelDir,
      intraOpThreads: 1,
    });
  }
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  try {
    const t0 = performance.now();
    // threshold 0: use the model's own default (0.6, upstream's evaluation rule)
    const res = await predictBytes(client, { header: {}, bytes: readFileSync(file), deadlineMs: 120_000 });
    return { res, ms: performance.now() - t0 };
  } finally {
    client.close();
  }
}

const media = () => (videos ??= makeVideos(photos.dir!));

test.after(async () => {
  await handle?.drain();
});

/** Our Python implementation of upstream's video rule on the response's per-face probabilities. */
function pythonRule(segments: { track: number; probabilityFake: number }[]): number {
  const manifest = join(tempDir("rule"), "m.json");
  writeFileSync(manifest, JSON.stringify({ faces: segments.map((s) => ({ track: s.track - 1 })), probabilities: segments.map((s) => s.probabilityFake) }));
  const run = runPython("reference_scores.py", ["--aggregate-only", "--manifest", manifest]);
  assert.is(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { aggregationOfGiven: { probabilityFake: number } }).aggregationOfGiven.probabilityFake;
}

// (first: the model loads during this call, so the timings below are of a loaded service)
serviceTest("no face (test pattern): UNDETERMINED with the reason, no score", async () => {
  const { res } = await predict(media().noFace);
  assert.is(res.prediction, Prediction.PREDICTION_UNDETERMINED);
  assert.is(res.probabilityFake, 0);
  assert.is(res.segments.length, 0);
  assert.match(res.note, /no face found in 20 sampled frames; Cross-Efficient-ViT only scores faces/);
});

serviceTest("a truncated MP4 and an audio-only file are INVALID_ARGUMENT", async () => {
  for (const [file, pattern] of [
    [media().truncated, /truncated or corrupt|no frame could be decoded/],
    [media().audioOnly, /no video stream|not a video/],
  ] as const) {
    try {
      await predict(file);
      assert.unreachable(`${file} must be refused`);
    } catch (err) {
      const e = err as grpc.ServiceError;
      assert.is(e.code, grpc.status.INVALID_ARGUMENT, `${file}: ${e.message}`);
      assert.match(e.details, pattern);
    }
  }
});

serviceTest("one face, 3 s at 25 fps: 30 per-frame segments on one track, the track mean, random-fixture weights", async () => {
  const { res, ms } = await predict(media().face);
  assert.is(res.modelName, "cross-efficient-vit");
  assert.is(res.weightsKind, WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE);
  assert.is.not(res.prediction, Prediction.PREDICTION_UNDETERMINED, res.note);
  assert.is(res.threshold, 0.6);
  assert.is(res.segments.length, 30, res.note);
  let lastStart = -1;
  for (const s of res.segments) {
    assert.is(s.kind, SegmentKind.SEGMENT_KIND_FRAME);
    assert.is(s.track, 1);
    assert.ok(s.startSeconds > lastStart && s.endSeconds > s.startSeconds && s.endSeconds <= 3 + 1e-6, `${s.startSeconds}-${s.endSeconds}`);
    lastStart = s.startSeconds;
    // the face is in the upper middle of the 640x480 frame
    const { x, y, width, height } = s.box!;
    assert.ok(x > 80 && x + width < 500 && y >= 0 && y < 200 && width > 80 && height > 100, JSON.stringify(s.box));
    assert.ok(s.probabilityFake > 0 && s.probabilityFake < 1);
  }
  // 30 equidistant frames of 75: one every 0.1 s
  assert.ok(Math.abs(res.segments[29]!.startSeconds - 2.9) < 0.05, `${res.segments[29]!.startSeconds}`);
  const mean = res.segments.reduce((a, s) => a + s.probabilityFake, 0) / res.segments.length;
  assert.ok(Math.abs(res.probabilityFake - mean) < 1e-12, `${res.probabilityFake} vs track mean ${mean}`);
  assert.ok(Math.abs(res.probabilityFake - pythonRule(res.segments)) < 1e-12);
  assert.match(res.note, /30 faces scored in 30\/30 sampled frames, 1 track/);
  assert.ok(Math.abs(res.logit! - Math.log(res.probabilityFake / (1 - res.probabilityFake))) < 1e-9);
  console.log(
    `  one-face video (30 frames, 640x480): ${ms.toFixed(0)} ms end to end over gRPC (decode ${(res.timings!.decodeSeconds * 1000).toFixed(0)} ms, ` +
      `faces + inference ${(res.timings!.inferenceSeconds * 1000).toFixed(0)} ms, 1 thread)`,
  );
});

serviceTest("two people: two tracks in the segments, the video score by upstream's rule", async () => {
  const { res, ms } = await predict(media().pair);
  assert.is.not(res.prediction, Prediction.PREDICTION_UNDETERMINED, res.note);
  const tracks = new Set(res.segments.map((s) => s.track));
  assert.equal([...tracks].sort(), [1, 2], res.note);
  assert.is(res.segments.length, 60, res.note);
  // two separate people in every frame; track 1 is the larger face (upstream's "_0": MTCNN lists the largest first)
  for (const index of new Set(res.segments.map((s) => s.index))) {
    const [a, b] = res.segments.filter((s) => s.index === index);
    assert.ok(a && b && a.track === 1 && b.track === 2 && Math.abs(a.box!.x - b.box!.x) > 200, `frame ${index}`);
  }
  const area = (t: number) => {
    const ss = res.segments.filter((s) => s.track === t);
    return ss.reduce((n, s) => n + s.box!.width * s.box!.height, 0) / ss.length;
  };
  assert.ok(area(1) >= area(2), `track areas ${area(1)} ${area(2)}`);
  assert.ok(Math.abs(res.probabilityFake - pythonRule(res.segments)) < 1e-12, `${res.probabilityFake}`);
  assert.match(res.note, /60 faces scored in 30\/30 sampled frames, 2 tracks/);
  console.log(`  two-face video (30 frames, 800x512): ${ms.toFixed(0)} ms end to end`);
});

test.run();
