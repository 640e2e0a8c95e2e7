// Parity: our TypeScript pipeline (SDK video decode, YuNet faces, tracks, square crop, isotropic resize, zero pad,
// BGR tensors) + onnxruntime-node against our numpy crops + PyTorch reference (python/reference_scores.py) on the
// same decoded frames and face boxes, with the random-weight fixture (identical key layout to the official
// checkpoint). Also: dynamic batch equals batch 1, the model's predict() equals the pieces, the video score equals
// our Python implementation of upstream's aggregation, and latency per face (ORT vs PyTorch).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeVideo, loadFaceDetector, type DecodedVideo, type FaceDetector, type PredictContext } from "@deepsafe/sdk";
import { trackMeans, videoScore } from "../src/aggregate.js";
import { faceTensors, planFaces, type FacePlan } from "../src/faces.js";
import { CrossEfficientViTModel } from "../src/model.js";
import { type CevSession, FACE_FLOATS, openCevSession, sigmoid } from "../src/onnx.js";
import { runPython } from "../scripts/python.js";
import { diffStats } from "@deepsafe/sdk/testing";
import {
  faceDetectorUnavailable,
  ffmpegUnavailable,
  findPhotos,
  makeVideos,
  median,
  pythonUnavailable,
  randomFixture,
  tempDir,
  type Fixture,
} from "./helpers.js";

const skipWhy = pythonUnavailable() ?? faceDetectorUnavailable() ?? ffmpegUnavailable();
const photos = skipWhy ? { why: skipWhy } : findPhotos();
const why = skipWhy ?? photos.why;
if (why) console.log(`\n  SKIPPED cross-efficient-vit parity tests: ${why}\n`);
const parityTest = why ? test.skip : test;

let fixture: Fixture | undefined;
let detector: FaceDetector | undefined;
let session: CevSession | undefined;
async function setup(): Promise<{ fixture: Fixture; detector: FaceDetector; session: CevSession }> {
  fixture ??= await randomFixture();
  detector ??= (await loadFaceDetector(1, {}, fixture.faceDetectorDir)).detector;
  session ??= await openCevSession(join(fixture.modelDir, "model.onnx"), 1);
  return { fixture, detector, session };
}
test.after(async () => {
  await session?.release();
  await detector?.release();
});

const ctx = (): PredictContext => ({ requestId: "parity", threshold: 0.6, options: {}, mimeType: "video/mp4", fileName: "", signal: new AbortController().signal });

async function logitsOf(s: CevSession, tensors: Float32Array, batch: number): Promise<number[]> {
  const n = tensors.length / FACE_FLOATS;
  const out: number[] = [];
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    out.push(...(await s.logits(tensors.subarray(start * FACE_FLOATS, (start + count) * FACE_FLOATS), count)));
  }
  return out;
}

interface Reference {
  logits: number[];
  tensorMaxAbsDiff: number;
  tensorDiffCount: number;
  torchMsPerFace: Record<string, number>;
  numpyCropMsPerFace: number;
  aggregationOfReference: { probabilityFake: number; trackMeans: number[] };
  aggregationOfGiven: { probabilityFake: number; trackMeans: number[] };
}

/** Frames, boxes, TS tensors and TS logits to disk; the Python reference on them. */
function reference(fx: Fixture, video: DecodedVideo, plan: FacePlan, tensors: Float32Array, logits: number[], name: string): Reference {
  const dir = join(tempDir(`parity-${name}`));
  mkdirSync(dir, { recursive: true });
  const frames = video.frames.map((f, i) => {
    const file = `frame${i}.rgb`;
    writeFileSync(join(dir, file), f.data);
    return { file, width: f.width, height: f.height };
  });
  writeFileSync(join(dir, "tensors.f32"), Buffer.from(tensors.buffer, tensors.byteOffset, tensors.byteLength));
  const manifest = {
    frames,
    faces: plan.items.map((it) => ({ frame: it.frame, track: it.track, box: it.face.box })),
    tensors: "tensors.f32",
    logits,
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  const run = runPython("reference_scores.py", ["--checkpoint", fx.checkpoint, "--manifest", join(dir, "manifest.json"), "--threads", "1", "--batch", "8"]);
  assert.is(run.status, 0, run.stderr.slice(-3000));
  return JSON.parse(run.stdout) as Reference;
}

parityTest("one face zooming and panning, 30 frames: tensors, logits, batch, video score and predict() match the reference", async () => {
  const { fixture: fx, detector: det, session: s } = await setup();
  const videos = makeVideos(photos.dir!);
  const video = await decodeVideo(readFileSync(videos.face), { frames: 30, maxSide: 1920 });
  assert.is(video.frames.length, 30);
  const plan = await planFaces(video.frames, det);
  assert.is(plan.tracks.length, 1, `tracks: ${plan.tracks.length}`);
  assert.is(plan.items.length, 30, "the face is found in every sampled frame");
  // the zoom makes the face grow: the first box is smaller than the last
  assert.ok(plan.items[29]!.face.box.width > plan.items[0]!.face.box.width * 1.15, "the face grows with the zoom");

  const t0 = performance.now();
  const tensors = faceTensors(video.frames, plan.items);
  const cropMs = (performance.now() - t0) / plan.items.length;
  const batched = await logitsOf(s, tensors, 8);
  const single = await logitsOf(s, tensors, 1);
  const batchDiff = diffStats(batched, single).max;

  const ref = reference(fx, video, plan, tensors, batched, "face");
  const logitDiff = diffStats(batched, ref.logits).max;
  const { means } = trackMeans(plan.items, batched.map(sigmoid), plan.tracks.length);
  const ours = videoScore(means);
  const aggDiff = Math.abs(ours.probabilityFake - ref.aggregationOfGiven.probabilityFake);
  const aggRefDiff = Math.abs(ours.probabilityFake - ref.aggregationOfReference.probabilityFake);

  // the service's predict() on the same decoded video
  const model = new CrossEfficientViTModel({ faceDetectorDir: fx.faceDetectorDir });
  await model.load({ modelDir: fx.modelDir, intraOpThreads: 1 });
  const result = await model.predict(video, ctx());
  await model.dispose();
  assert.is(result.segments.length, 30);
  const segDiff = diffStats(result.segments.map((x) => x.probabilityFake), batched.map(sigmoid)).max;

  const spread = [Math.min(...batched), Math.max(...batched)];
  console.log(
    `  face clip: ${plan.items.length} faces, logits ${spread.map((v) => v.toFixed(4)).join("..")}; ` +
      `input tensors max|Δ| ${ref.tensorMaxAbsDiff} (${ref.tensorDiffCount} values differ); ORT vs PyTorch max|Δlogit| ${logitDiff.toExponential(2)}; ` +
      `batch 8 vs 1 max|Δ| ${batchDiff.toExponential(2)}; video score ${ours.probabilityFake.toFixed(6)} vs Python rule |Δ| ${aggDiff.toExponential(2)} ` +
      `(on PyTorch logits ${aggRefDiff.toExponential(2)}); predict() vs pieces ${segDiff.toExponential(2)}`,
  );
  console.log(
    `  per face, 1 thread: crop+tensor ${cropMs.toFixed(1)} ms (TS), ${ref.numpyCropMsPerFace.toFixed(1)} ms (numpy); ` +
      `PyTorch ${ref.torchMsPerFace.batch1!.toFixed(0)} ms (batch 1), ${ref.torchMsPerFace.batch8!.toFixed(0)} ms (batch 8)`,
  );
  assert.is(ref.tensorMaxAbsDiff, 0, "the TypeScript crops equal the numpy crops");
  assert.ok(logitDiff <= 1e-4, `logits differ by ${logitDiff}`);
  assert.ok(batchDiff <= 1e-5, `dynamic batch differs from batch 1 by ${batchDiff}`);
  assert.ok(aggDiff <= 1e-12, `video score differs from the Python rule by ${aggDiff}`);
  assert.ok(aggRefDiff <= 1e-5, `video score differs from the reference's by ${aggRefDiff}`);
  assert.ok(segDiff <= 1e-7, `predict() differs from the pieces by ${segDiff}`);
  assert.ok(Math.abs(result.probabilityFake - ours.probabilityFake) <= 1e-12);
  assert.ok(spread[1]! - spread[0]! > 1e-3, "the logits depend on the input");

  // latency of the graph alone, per face
  for (const threads of [1, 2]) {
    const timed = threads === 1 ? s : await openCevSession(join(fx.modelDir, "model.onnx"), threads);
    for (const batch of [1, 8]) {
      const times: number[] = [];
      for (let r = 0; r < 3; r++) {
        const t1 = performance.now();
        await timed.logits(tensors.subarray(0, batch * FACE_FLOATS), batch);
        times.push((performance.now() - t1) / batch);
      }
      console.log(`  ORT per face, ${threads} thread(s), batch ${batch}: median ${median(times).toFixed(0)} ms`);
    }
    if (timed !== s) await timed.release();
  }
});

parityTest("two people, 10 frames: two tracks, logits and the multi-track rule match the reference", async () => {
  const { fixture: fx, detector: det, session: s } = await setup();
  const videos = makeVideos(photos.dir!);
  const video = await decodeVideo(readFileSync(videos.pair), { frames: 10, maxSide: 1920 });
  const plan = await planFaces(video.frames, det);
  assert.is(plan.tracks.length, 2);
  assert.is(plan.items.length, 20, `${plan.items.length} faces`);
  const tensors = faceTensors(video.frames, plan.items);
  const logits = await logitsOf(s, tensors, 8);
  const ref = reference(fx, video, plan, tensors, logits, "pair");
  const logitDiff = diffStats(logits, ref.logits).max;
  const { means } = trackMeans(plan.items, logits.map(sigmoid), 2);
  const ours = videoScore(means);
  const aggDiff = Math.abs(ours.probabilityFake - ref.aggregationOfGiven.probabilityFake);
  console.log(
    `  pair clip: 2 tracks, means ${means.map((m) => m.toFixed(4)).join(", ")}; tensors max|Δ| ${ref.tensorMaxAbsDiff}; ` +
      `max|Δlogit| ${logitDiff.toExponential(2)}; video score |Δ| vs Python rule ${aggDiff.toExponential(2)}`,
  );
  assert.is(ref.tensorMaxAbsDiff, 0);
  assert.ok(logitDiff <= 1e-4, `logits differ by ${logitDiff}`);
  assert.ok(aggDiff <= 1e-12, `video score differs by ${aggDiff}`);
  ref.aggregationOfGiven.trackMeans.forEach((m, t) => assert.ok(Math.abs(m - means[t]!) <= 1e-12));
});

test.run();
