// The video rule (upstream's per-track mean and custom_video_round), checked by hand and against our Python
// implementation of upstream's test.py on many synthetic videos; the face plan (size filter, tracks, order)
// with a scripted detector; the environment settings.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Face, RgbImage } from "@deepsafe/sdk";
import { TRACK_FAKE_THRESHOLD, trackMeans, videoScore } from "../src/aggregate.js";
import { optionsFromEnv } from "../src/env.js";
import { faceTensors, planFaces, sourceBox } from "../src/faces.js";
import { FACE_FLOATS, logOdds, sigmoid } from "../src/onnx.js";
import { pythonUnavailable, runPython } from "../scripts/python.js";
import { tempDir } from "./helpers.js";

test("video score: the FIRST track mean above 0.55 decides (not the highest), else the mean of the means", () => {
  assert.equal(videoScore([0.2, 0.6, 0.9]), { probabilityFake: 0.6, decidingTrack: 1 });
  assert.equal(videoScore([0.7, 0.9]), { probabilityFake: 0.7, decidingTrack: 0 });
  assert.equal(videoScore([0.2, 0.4]).decidingTrack, undefined);
  assert.ok(Math.abs(videoScore([0.2, 0.4]).probabilityFake - 0.3) < 1e-15);
  assert.equal(videoScore([TRACK_FAKE_THRESHOLD, 0.1]).decidingTrack, undefined, "strictly above");
  // one track: its mean, whatever its value (upstream does not call custom_video_round then)
  assert.equal(videoScore([0.3]), { probabilityFake: 0.3 });
  assert.equal(videoScore([0.9]), { probabilityFake: 0.9 });
  assert.throws(() => videoScore([]), /no tracks/);
});

test("track means: per track, in the order given; every track needs a face", () => {
  const items = [{ track: 0 }, { track: 1 }, { track: 0 }, { track: 0 }];
  const { means, counts } = trackMeans(items, [0.1, 0.8, 0.2, 0.3], 2);
  assert.equal(counts, [3, 1]);
  assert.ok(Math.abs(means[0]! - 0.2) < 1e-15 && means[1] === 0.8);
  assert.throws(() => trackMeans(items, [0.1], 2), /4 faces but 1/);
  assert.throws(() => trackMeans(items, [0.1, 0.8, 0.2, 0.3], 3), /without faces/);
  assert.throws(() => trackMeans([{ track: 5 }], [0.5], 2), /outside/);
});

test("sigmoid and log-odds are stable and inverse", () => {
  assert.is(sigmoid(0), 0.5);
  assert.ok(sigmoid(-800) === 0 && sigmoid(800) === 1);
  for (const x of [-30, -2.5, 0.1, 7]) assert.ok(Math.abs(logOdds(sigmoid(x))! - x) < 1e-9);
  assert.is(logOdds(1), undefined);
  assert.is(logOdds(0), undefined);
});

const noPython = pythonUnavailable();
(noPython ? test.skip : test)("the TypeScript rule equals our Python implementation of upstream's test.py on 300 synthetic videos", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const videos: { faces: { track: number }[]; logits: number[]; tracks: number }[] = [];
  for (let v = 0; v < 300; v++) {
    const tracks = 1 + Math.floor(rand() * 3);
    const faces: { track: number }[] = [];
    const logits: number[] = [];
    for (let f = 0; f < 30; f++) {
      const track = f < tracks ? f : Math.floor(rand() * tracks);
      faces.push({ track });
      // per-track offsets so that some track means land above 0.55 and some below
      logits.push((rand() - 0.5) * 6 + (track - 1) * 0.8 + (rand() - 0.5));
    }
    videos.push({ faces, logits, tracks });
  }
  const manifest = join(tempDir("aggregate"), "videos.json");
  writeFileSync(manifest, JSON.stringify(videos));
  const run = runPython("reference_scores.py", ["--aggregate-only", "--manifest", manifest]);
  assert.is(run.status, 0, run.stderr);
  const py = (JSON.parse(run.stdout) as { aggregationOfGiven: { probabilityFake: number; trackMeans: number[] }[] }).aggregationOfGiven;
  let worst = 0;
  let decided = 0;
  let multi = 0;
  videos.forEach((v, i) => {
    const { means } = trackMeans(v.faces, v.logits.map(sigmoid), v.tracks);
    const ours = videoScore(means);
    if (ours.decidingTrack !== undefined) decided++;
    if (v.tracks > 1) multi++;
    means.forEach((m, t) => (worst = Math.max(worst, Math.abs(m - py[i]!.trackMeans[t]!))));
    worst = Math.max(worst, Math.abs(ours.probabilityFake - py[i]!.probabilityFake));
  });
  console.log(
    `  video rule vs Python (upstream test.py) on ${videos.length} synthetic videos (${multi} with several tracks, ` +
      `${decided} decided by a track mean > 0.55): max |Δ| ${worst.toExponential(2)}`,
  );
  assert.ok(decided > 10 && decided < multi - 10, `${decided} of ${multi} multi-track videos exercised the 0.55 branch`);
  assert.ok(worst <= 1e-12, `differs by ${worst}`);
});

// ------------------------------------------------------------------------------------ face plan

const frame = (width = 640, height = 480): RgbImage => ({ data: new Uint8Array(width * height * 3).fill(90), width, height });
const face = (x: number, y: number, side: number, score = 0.9): Face => ({ box: { x, y, width: side, height: side * 1.2 }, score });

test("planFaces: small and off-frame faces dropped, tracks by size (largest first), items by frame then track", async () => {
  const script: Face[][] = [
    [face(100, 100, 80), face(400, 100, 20)], // second one too small (20 * 1.2 = 24 px)
    [face(402, 102, 82), face(104, 101, 80)], // a second person appears (order swapped by the detector)
    [face(800, 100, 50), face(108, 103, 80), face(405, 104, 82)], // first one is off the frame
  ];
  let call = 0;
  const detector = { detect: async () => script[call++]! };
  const plan = await planFaces([frame(), frame(), frame()], detector, { minFaceSide: 40 });
  assert.is(plan.tooSmall, 1);
  assert.is(plan.outside, 1);
  assert.is(plan.tracks.length, 2);
  // the right-hand person (82 px) is larger than the left-hand one (80 px): track 0, although it appears later
  assert.equal(plan.items.map((it) => [it.frame, it.track]), [[0, 1], [1, 0], [1, 1], [2, 0], [2, 1]]);
  assert.ok(plan.items.filter((it) => it.track === 0).every((it) => it.face.box.x > 300), "track 0 is the larger face");
  // the size limit is in source pixels: frames shrunk by 2 make a 24 px box 48 source px
  call = 0;
  const scaled = await planFaces([frame(), frame(), frame()], detector, { minFaceSide: 40, sourceScale: 2 });
  assert.is(scaled.tooSmall, 0);
  call = 0;
  const none = await planFaces([frame()], { detect: async () => [] });
  assert.equal([none.items.length, none.tracks.length], [0, 0]);
});

test("planFaces keeps at most 3 tracks (the longest)", async () => {
  const frames = [frame(1280, 480), frame(1280, 480), frame(1280, 480)];
  let call = 0;
  const detector = {
    detect: async () => {
      const f = call++;
      // four people; the fourth only in the last frame
      return [face(50, 50, 100), face(350, 50, 100), face(650, 50, 100), ...(f === 2 ? [face(950, 50, 100)] : [])];
    },
  };
  const plan = await planFaces(frames, detector);
  assert.is(plan.tracks.length, 3);
  assert.is(plan.items.length, 9);
  assert.ok(plan.items.every((it) => it.face.box.x < 900));
});

test("faceTensors: one BGR 0..255 CHW tensor per face, zero padding; sourceBox clips and scales", () => {
  const img = frame(320, 240);
  for (let p = 0; p < 320 * 240; p++) img.data.set([200, 100, 50], p * 3);
  // clipped at the left border: a 112x144 crop, enlarged to 174x224, padded by 25 zero columns on each side
  const t = faceTensors([img], [{ track: 0, frame: 0, face: { box: { x: -20, y: 60, width: 120, height: 144 }, score: 0.9 } }]);
  assert.is(t.length, FACE_FLOATS);
  const at = (c: number, y: number, x: number) => t[c * 224 * 224 + y * 224 + x];
  assert.equal([at(0, 100, 112), at(1, 100, 112), at(2, 100, 112)], [50, 100, 200], "BGR, raw 0..255");
  assert.equal([at(0, 100, 24), at(2, 100, 24), at(0, 100, 199)], [0, 0, 0], "zero padding");
  assert.equal([at(0, 100, 25), at(0, 100, 198)], [50, 50]);
  assert.equal(sourceBox(face(-10, 200, 60), img, 2), { x: 0, y: 400, width: 100, height: 80 });
});

test("settings from the environment are checked", () => {
  const saved = { ...process.env };
  try {
    process.env.CROSS_EFFICIENT_VIT_FRAMES = "15";
    process.env.CROSS_EFFICIENT_VIT_MIN_FACE_PX = "0";
    assert.equal(optionsFromEnv().frames, 15);
    assert.equal(optionsFromEnv().minFaceSide, 0);
    process.env.CROSS_EFFICIENT_VIT_FRAMES = "0";
    assert.throws(() => optionsFromEnv(), /CROSS_EFFICIENT_VIT_FRAMES must be an integer in 1..100/);
    process.env.CROSS_EFFICIENT_VIT_FRAMES = "";
    process.env.CROSS_EFFICIENT_VIT_FACE_SCORE = "1.5";
    assert.throws(() => optionsFromEnv(), /FACE_SCORE must be between 0 and 1/);
  } finally {
    for (const k of Object.keys(process.env)) if (k.startsWith("CROSS_EFFICIENT_VIT_") && !(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test.run();
