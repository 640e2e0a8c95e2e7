// The video service ("mesonet-video") end to end over real gRPC: an H.264 clip made with ffmpeg from drawn
// frames (one face drifting), decoded by the SDK (one ffmpeg pass), faces found and tracked, per-frame face
// scores as FRAME segments, Cross-Efficient-ViT's per-track aggregation. Also a clip without faces.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/grpc/common";
import { createDetectorClient, predictBytes, prepareFaceDetector, serveDetector, type DetectorHandle } from "@deepsafe/sdk";
import { MesoNetVideoModel, TRACK_FAKE_THRESHOLD, videoScore } from "../src/video.js";
import {
  exportModel,
  makeFixtures,
  mesonetWeightsDir,
  officialWeightsUnavailable,
  pythonUnavailable,
  tempDir,
  weightsMirror,
} from "./helpers.js";

function ffmpegUnavailable(): string | undefined {
  const run = spawnSync(process.env.DEEPSAFE_FFMPEG ?? "ffmpeg", ["-hide_banner", "-encoders"], { encoding: "utf8" });
  if (run.error || run.status !== 0) return "ffmpeg is not installed";
  return /libx264/.test(run.stdout) ? undefined : "ffmpeg has no libx264 encoder";
}

function ffmpeg(args: string[]): void {
  const run = spawnSync(process.env.DEEPSAFE_FFMPEG ?? "ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", ...args], { encoding: "utf8" });
  if (run.error || run.status !== 0) throw new Error(`ffmpeg ${args.join(" ")} failed: ${run.error?.message ?? run.stderr}`);
}

const skipWhy = pythonUnavailable() ?? officialWeightsUnavailable() ?? ffmpegUnavailable();
if (skipWhy) console.log(`\n  SKIPPED mesonet video service tests: ${skipWhy}\n`);
const serviceTest = skipWhy ? test.skip : test;

let handle: DetectorHandle | undefined;

async function predict(file: string) {
  if (!handle) {
    const modelDir = exportModel("MesoInception_DF", { checkpoint: join(mesonetWeightsDir, "MesoInception_DF.h5") });
    const faceDir = tempDir("face-detector");
    await prepareFaceDetector({ mirror: weightsMirror, dir: faceDir });
    handle = await serveDetector(new MesoNetVideoModel("MesoInception_DF", { faceDetectorDir: faceDir }), {
      port: 0,
      metricsPort: -1,
      handleSignals: false,
      modelDir,
      intraOpThreads: 1,
    });
  }
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  try {
    return await predictBytes(client, { header: { threshold: 0.5 }, bytes: readFileSync(file), deadlineMs: 60_000 });
  } finally {
    client.close();
  }
}

test.after(async () => {
  await handle?.drain();
});

serviceTest("a clip with one face: per-frame FRAME segments on one track, video score by the track rule", async () => {
  const fx = makeFixtures(true);
  const clip = join(tempDir("clip"), "face.mp4");
  const { frames, count, fps } = fx.video!;
  ffmpeg(["-framerate", String(fps), "-i", join(fx.dir, frames), "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "16", clip]);
  const res = await predict(clip);
  assert.is(res.modelName, "mesonet-video");
  assert.is(res.weightsKind, WeightsKind.WEIGHTS_KIND_OFFICIAL);
  assert.is.not(res.prediction, Prediction.PREDICTION_UNDETERMINED, res.note);
  // every one of the 24 frames is decoded (fewer than 30) and has the face
  assert.is(res.segments.length, count, res.note);
  let lastStart = -1;
  for (const s of res.segments) {
    assert.is(s.kind, SegmentKind.SEGMENT_KIND_FRAME);
    assert.is(s.track, 1);
    assert.ok(s.startSeconds > lastStart && s.endSeconds > s.startSeconds && s.endSeconds <= count / fps + 1e-6, `${s.startSeconds}-${s.endSeconds}`);
    lastStart = s.startSeconds;
    const cx = s.box!.x + s.box!.width / 2;
    const expected = 200 + 3 * s.index;
    assert.ok(Math.abs(cx - expected) < 30, `frame ${s.index}: face centre x ${cx}, drawn at ${expected}`);
  }
  const mean = res.segments.reduce((a, s) => a + s.probabilityFake, 0) / res.segments.length;
  assert.ok(Math.abs(res.probabilityFake - mean) < 1e-12, `${res.probabilityFake} vs track mean ${mean}`);
  assert.match(res.note, /24 face crops from 24\/24 frames, 1 track/);
});

serviceTest("a clip without faces: the model abstains", async () => {
  const clip = join(tempDir("noface"), "pattern.mp4");
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10:duration=2", "-c:v", "libx264", "-pix_fmt", "yuv420p", clip]);
  const res = await predict(clip);
  assert.is(res.prediction, Prediction.PREDICTION_UNDETERMINED);
  assert.is(res.segments.length, 0);
  assert.match(res.note, /no face found in 20 sampled frames/);
});

test("video score: a track mean above 0.55 decides (the highest such), else the mean of track means", () => {
  assert.equal(videoScore([0.2, 0.7, 0.6]), { probabilityFake: 0.7, decidingTrack: 1 });
  assert.equal(videoScore([0.2, 0.4]), { probabilityFake: 0.30000000000000004, decidingTrack: undefined });
  assert.equal(videoScore([TRACK_FAKE_THRESHOLD, 0.1]).decidingTrack, undefined); // strictly above
  assert.equal(videoScore([0.56]), { probabilityFake: 0.56, decidingTrack: 0 });
  assert.throws(() => videoScore([]), /no tracks/);
});

test.run();
