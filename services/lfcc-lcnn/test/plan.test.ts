// Window planning, aggregation and abstaining (src/plan.ts): pure logic, no model.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  aggregateProbabilities,
  logOdds,
  neededFrameRanges,
  planWindows,
  probabilityFake,
  TooManyWindowsError,
  unscorableReason,
  windowFrame,
  windowSeconds,
  WINDOW_FRAMES,
} from "../src/plan.js";
import { parseVariant } from "../src/onnx.js";

test("up to 750 frame shifts: one window tiling frames 0..n-1 (upstream)", () => {
  const plan = planWindows(8000);
  assert.equal(plan, { totalFrames: 51, usableFrames: 50, starts: [0], padded: true, subsampled: false, regularCount: 1 });
  assert.equal([0, 49, 50, 51, 749].map((r) => windowFrame(plan, 0, r)), [0, 49, 0, 1, 49]);
  // 119,999 samples = 749 shifts: still tiled; 120,000..120,159 = exactly 750: one window, not padded
  assert.ok(planWindows(119_999).padded);
  for (const n of [120_000, 120_159]) {
    const p = planWindows(n);
    assert.equal([p.starts, p.padded, p.usableFrames, p.totalFrames], [[0], false, 750, 751]);
    assert.is(windowFrame(p, 0, 749), 749);
  }
});

test("longer clips: hop 375 frames, last window aligned to the end", () => {
  assert.equal(planWindows(120_160).starts, [0, 1]);
  assert.equal(planWindows(120_000 + 375 * 160).starts, [0, 375]);
  assert.equal(planWindows(120_000 + 376 * 160).starts, [0, 375, 376]);
  const n = 20 * 16000; // 2000 usable frames
  const plan = planWindows(n);
  assert.equal(plan.starts, [0, 375, 750, 1125, 1250]);
  assert.is(plan.regularCount, 5);
  for (const s of plan.starts) assert.ok(s >= 0 && s + WINDOW_FRAMES <= plan.usableFrames);
  assert.equal(planWindows(3 * 120_000, { hopFrames: 750 }).starts, [0, 750, 1500]);
  assert.throws(() => planWindows(n, { hopFrames: 0 }), /hopFrames/);
});

test("too many windows: spread evenly, or refuse", () => {
  const n = 600 * 16000; // 60,000 usable frames
  const plan = planWindows(n, { maxWindows: 5 });
  assert.ok(plan.subsampled);
  assert.is(plan.regularCount, 159);
  assert.equal(plan.starts, [0, 14812, 29625, 44437, 59250]);
  assert.equal(planWindows(n, { maxWindows: 1 }).starts, [29625]);
  assert.throws(() => planWindows(n, { maxWindows: 5, onTooMany: "error" }), (e: unknown) => e instanceof TooManyWindowsError);
  assert.not.ok(planWindows((750 + 3 * 375) * 160, { maxWindows: 4 }).subsampled);
  assert.ok(planWindows((750 + 3 * 375 + 1) * 160, { maxWindows: 4 }).subsampled);
  assert.is(planWindows(n).starts.length, 32);
});

test("clips without a full frame shift cannot be windowed", () => {
  assert.throws(() => planWindows(0), /0 samples/);
  assert.throws(() => planWindows(159), /159 samples/);
});

test("frames the windows need: each window ± 2 frames, merged, inside the clip", () => {
  assert.equal(neededFrameRanges(planWindows(8000)), [[0, 51]]);
  assert.equal(neededFrameRanges(planWindows(120_000)), [[0, 751]]);
  assert.equal(neededFrameRanges(planWindows(20 * 16000)), [[0, 2001]]);
  const sparse = planWindows(600 * 16000, { maxWindows: 3 });
  assert.equal(sparse.starts, [0, 29625, 59250]);
  assert.equal(neededFrameRanges(sparse), [[0, 752], [29623, 30377], [59248, 60001]]);
});

test("window seconds", () => {
  const short = planWindows(8000);
  assert.equal(windowSeconds(short, 0, 8000), { startSeconds: 0, endSeconds: 0.5 });
  const long = planWindows(20 * 16000);
  assert.equal(windowSeconds(long, 375, 20 * 16000), { startSeconds: 3.75, endSeconds: 11.25 });
  assert.equal(windowSeconds(long, 1250, 20 * 16000), { startSeconds: 12.5, endSeconds: 20 });
});

test("P(fake): sigmoid = 1 − sigmoid(logit of bona fide); a-softmax = softmax(cos)[spoof]", () => {
  assert.is(probabilityFake("sigmoid", [0]), 0.5);
  assert.ok(Math.abs(probabilityFake("sigmoid", [2]) - 1 / (1 + Math.exp(2))) < 1e-15);
  assert.ok(Math.abs(probabilityFake("sigmoid", [-3]) - 1 / (1 + Math.exp(-3))) < 1e-15);
  assert.is(probabilityFake("sigmoid", [-800]), 1);
  assert.ok(probabilityFake("sigmoid", [800]) >= 0);
  const [s, b] = [0.8, -0.6];
  assert.ok(Math.abs(probabilityFake("a-softmax", [s, b]) - Math.exp(s) / (Math.exp(s) + Math.exp(b))) < 1e-15);
  assert.ok(probabilityFake("a-softmax", [1, -1]) < 0.881); // cosines bound it
  assert.throws(() => probabilityFake("sigmoid", [NaN]));
  assert.ok(Math.abs(logOdds(probabilityFake("sigmoid", [-2.5]))! - 2.5) < 1e-12);
  assert.is(logOdds(1), undefined);
});

test("aggregation is the mean", () => {
  assert.is(aggregateProbabilities([0.2, 0.4, 0.9]), 0.5);
  assert.throws(() => aggregateProbabilities([]));
});

test("unscorable clips: empty, too short, silent", () => {
  assert.is(unscorableReason(new Float32Array(0), 16000), "no audio samples");
  assert.match(unscorableReason(new Float32Array(4000).fill(0.5), 16000)!, /too short/);
  assert.match(unscorableReason(new Float32Array(100).fill(0.5), 16000, { minSeconds: 0 })!, /too short to score: 0\.006 s < 0\.01 s/);
  assert.match(unscorableReason(new Float32Array(32000), 16000)!, /digital silence/);
  assert.match(unscorableReason(new Float32Array(32000).fill(1e-4), 16000)!, /silent \(peak -80\.0 dBFS/);
  assert.is(unscorableReason(new Float32Array(32000).fill(0.01), 16000), undefined);
  assert.throws(() => unscorableReason(new Float32Array(10), 8000), /16000 Hz/);
});

test("variant names", () => {
  assert.is(parseVariant(undefined), "sigmoid");
  assert.is(parseVariant(""), "sigmoid");
  assert.is(parseVariant("lfcc-lcnn"), "sigmoid");
  assert.is(parseVariant("SIGMOID"), "sigmoid");
  assert.is(parseVariant("a-softmax"), "a-softmax");
  assert.is(parseVariant("A_SOFTMAX"), "a-softmax");
  assert.is(parseVariant("lfcc-lcnn-a-softmax"), "a-softmax");
  assert.throws(() => parseVariant("oc-softmax"), /unknown LFCC-LCNN variant/);
});

test.run();
