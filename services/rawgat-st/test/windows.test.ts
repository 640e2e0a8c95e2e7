// Window planning, padding, aggregation and abstaining for RawGAT-ST (same rules as the AASIST service,
// so that audio detectors fuse comparably), and variant names.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  aggregateProbabilities,
  logOdds,
  planWindows,
  probabilityFakeFromLogits,
  scoreClip,
  TooManyWindowsError,
  unscorableReason,
  windowSamples,
  WINDOW_SAMPLES,
} from "../src/windows.js";
import { checkpointUrl, parseVariant, VARIANTS } from "../src/onnx.js";

const W = WINDOW_SAMPLES;

test("a clip shorter than one window is one repeat-padded window", () => {
  assert.equal(planWindows(1000), { starts: [0], padded: true, subsampled: false, regularCount: 1 });
  const clip = Float32Array.from({ length: 1000 }, (_, i) => i);
  const w = windowSamples(clip, 0);
  assert.is(w.length, W);
  // tiled from the start, like upstream pad(): x[i] = clip[i % len]
  for (const i of [0, 999, 1000, 1001, 64599]) assert.is(w[i], i % 1000);
});

test("exactly one window, and windows aligned to the end", () => {
  assert.equal(planWindows(W).starts, [0]);
  assert.equal(planWindows(W + 1).starts, [0, 1]);
  assert.equal(planWindows(W + 32300).starts, [0, 32300]);
  assert.equal(planWindows(W + 32301).starts, [0, 32300, 32301]);
  const n = 20 * 16000;
  const plan = planWindows(n);
  assert.equal(plan.starts, [0, 32300, 64600, 96900, 129200, 161500, 193800, 226100, n - W]);
  assert.is(plan.regularCount, plan.starts.length);
  assert.not.ok(plan.padded);
  // every sample is covered and windows lie inside the clip
  for (const s of plan.starts) assert.ok(s >= 0 && s + W <= n);
});

test("custom hop", () => {
  assert.equal(planWindows(3 * W, { hopSamples: W }).starts, [0, W, 2 * W]);
  assert.throws(() => planWindows(3 * W, { hopSamples: 0 }), /hopSamples/);
});

test("too many windows: spread evenly, or refuse", () => {
  const n = 600 * 16000;
  const plan = planWindows(n, { maxWindows: 5 });
  assert.ok(plan.subsampled);
  assert.is(plan.regularCount, 297);
  assert.equal(plan.starts, [0, 2383850, 4767700, 7151550, n - W]);
  assert.equal(planWindows(n, { maxWindows: 1 }).starts, [Math.floor((n - W) / 2)]);
  assert.throws(() => planWindows(n, { maxWindows: 5, onTooMany: "error" }), (e: unknown) => e instanceof TooManyWindowsError);
  assert.not.ok(planWindows(W + 3 * 32300, { maxWindows: 4 }).subsampled);
  assert.ok(planWindows(W + 3 * 32300 + 1, { maxWindows: 4 }).subsampled);
});

test("empty clips cannot be windowed", () => {
  assert.throws(() => planWindows(0), /0 samples/);
});

test("P(fake) = softmax(logits)[0], stable for large logits", () => {
  const [s, b] = [1.3, -0.4];
  const expected = Math.exp(s) / (Math.exp(s) + Math.exp(b));
  assert.ok(Math.abs(probabilityFakeFromLogits(s, b) - expected) < 1e-15);
  assert.is(probabilityFakeFromLogits(0, 0), 0.5);
  assert.ok(probabilityFakeFromLogits(-800, 800) >= 0);
  assert.is(probabilityFakeFromLogits(800, -800), 1);
  assert.throws(() => probabilityFakeFromLogits(NaN, 0));
  assert.ok(Math.abs(logOdds(probabilityFakeFromLogits(2.5, -1))! - 3.5) < 1e-12);
  assert.is(logOdds(1), undefined);
});

test("aggregation is the mean", () => {
  assert.is(aggregateProbabilities([0.2, 0.4, 0.9]), 0.5);
  assert.throws(() => aggregateProbabilities([]));
});

test("unscorable clips: empty, too short, silent", () => {
  assert.is(unscorableReason(new Float32Array(0), 16000), "no audio samples");
  assert.match(unscorableReason(new Float32Array(4000).fill(0.5), 16000)!, /too short/);
  assert.match(unscorableReason(new Float32Array(32000), 16000)!, /digital silence/);
  assert.match(unscorableReason(new Float32Array(32000).fill(1e-4), 16000)!, /silent \(peak -80\.0 dBFS/);
  assert.is(unscorableReason(new Float32Array(32000).fill(0.01), 16000), undefined);
  assert.throws(() => unscorableReason(new Float32Array(10), 8000), /16000 Hz/);
});

test("scoreClip scores the planned windows and reports seconds", async () => {
  const n = W + 40000;
  const clip = Float32Array.from({ length: n }, (_, i) => (i % 100) / 100);
  const seen: number[] = [];
  const result = await scoreClip(clip, async (w) => {
    assert.is(w.length, W);
    seen.push(w[0]!);
    return seen.length === 1 ? [2, 0] : [0, 2];
  });
  assert.equal(result.plan.starts, [0, 32300, 40000]);
  assert.equal(seen, [0, 0, 0]); // starts are multiples of 100
  assert.is(result.windows[2]!.endSeconds, n / 16000);
  assert.is(result.windows[1]!.startSeconds, 32300 / 16000);
  const p1 = 1 / (1 + Math.exp(-2));
  assert.ok(Math.abs(result.probabilityFake - (p1 + 2 * (1 - p1)) / 3) < 1e-12);

  const short = await scoreClip(new Float32Array(8000).fill(0.1), async () => [0, 0]);
  assert.is(short.windows[0]!.endSeconds, 0.5);
  assert.ok(short.plan.padded);
});

test("scoreClip stops when aborted", async () => {
  const ac = new AbortController();
  let calls = 0;
  let error: unknown;
  try {
    await scoreClip(new Float32Array(5 * W), async () => {
      if (++calls === 2) ac.abort(new Error("client went away"));
      return [0, 0];
    }, { signal: ac.signal });
  } catch (err) {
    error = err;
  }
  assert.match(String(error), /client went away/);
  assert.is(calls, 2);
});

test("variant names and model names", () => {
  assert.is(parseVariant(undefined), "mul");
  assert.is(parseVariant(""), "mul");
  assert.is(parseVariant("MUL"), "mul");
  assert.is(parseVariant("rawgat-st-add"), "add");
  assert.is(parseVariant("RawGAT_ST_cat"), "cat");
  assert.is(parseVariant("concat"), "cat");
  assert.throws(() => parseVariant("max"), /unknown RawGAT-ST variant "max"/);
  assert.equal(Object.values(VARIANTS).map((v) => v.modelName), ["rawgat-st", "rawgat-st-add", "rawgat-st-cat"]);
  assert.is(
    checkpointUrl("cat"),
    "https://github.com/eurecom-asp/RawGAT-ST-antispoofing/raw/e3b049f79b3cd9552e66f6d0ba844cbb9399c479/Pre_trained_models/RawGAT_ST_cat/Best_epoch.pth",
  );
});

test.run();
