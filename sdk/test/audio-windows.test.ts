// Whole-clip window planning for fixed-length audio models (AASIST, AASIST-L, RawGAT-ST): planning,
// repeat-padding, P(fake), aggregation, abstaining and scoring, with the default 64,600-sample window
// and with other window lengths; and the Python twin (sdk/python/deepsafe_audio.py, which the services'
// PyTorch references use) against this implementation on the same inputs.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  aggregateProbabilities,
  DEFAULT_HOP_SAMPLES,
  DEFAULT_WINDOW_SAMPLES,
  extractWindow,
  logOdds,
  planWindows,
  probabilityFakeFromLogits,
  scoreClip,
  TooManyWindowsError,
  unscorableReason,
  type WindowOptions,
} from "../src/index.js";

const W = DEFAULT_WINDOW_SAMPLES;

test("a clip shorter than one window is one repeat-padded window", () => {
  assert.equal(planWindows(1000), { starts: [0], padded: true, subsampled: false, regularCount: 1 });
  const clip = Float32Array.from({ length: 1000 }, (_, i) => i);
  const w = extractWindow(clip, 0);
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
  assert.throws(() => unscorableReason(new Float32Array(10), 8000), /^the model needs 16000 Hz audio, got 8000 Hz$/);
  assert.throws(() => unscorableReason(new Float32Array(10), 8000, { modelName: "RawGAT-ST" }), /RawGAT-ST needs 16000 Hz/);
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

test("the defaults are the published models' input: 64,600 samples, hop 32,300", () => {
  assert.is(DEFAULT_WINDOW_SAMPLES, 64_600);
  assert.is(DEFAULT_HOP_SAMPLES, 32_300);
  assert.equal(planWindows(W + 32300, { windowSamples: W, hopSamples: 32300 }), planWindows(W + 32300));
});

test("other window lengths: plan, padding, hop of half the window, error message", () => {
  assert.equal(planWindows(10, { windowSamples: 4 }), { starts: [0, 2, 4, 6], padded: false, subsampled: false, regularCount: 4 });
  assert.equal(planWindows(11, { windowSamples: 4 }).starts, [0, 2, 4, 6, 7]);
  assert.equal(planWindows(3, { windowSamples: 4 }), { starts: [0], padded: true, subsampled: false, regularCount: 1 });
  assert.equal(planWindows(5, { windowSamples: 1 }).starts, [0, 1, 2, 3, 4]);
  assert.equal(Array.from(extractWindow(Float32Array.of(1, 2, 3), 0, 7)), [1, 2, 3, 1, 2, 3, 1]);
  assert.equal(Array.from(extractWindow(Float32Array.of(1, 2, 3, 4, 5), 1, 3)), [2, 3, 4]);
  assert.throws(() => extractWindow(Float32Array.of(1, 2, 3), 1, 3), /window at 1 does not fit 3 samples/);
  assert.throws(() => planWindows(10, { windowSamples: 0 }), /windowSamples must be a positive integer/);
  assert.throws(() => extractWindow(Float32Array.of(1), 0, 2.5), /windowSamples/);
  try {
    planWindows(100, { windowSamples: 10, maxWindows: 3, onTooMany: "error" });
    assert.unreachable("should refuse");
  } catch (err) {
    assert.instance(err, TooManyWindowsError);
    const e = err as TooManyWindowsError;
    assert.is(e.message, "the clip needs 19 windows of 10 samples, more than the limit of 3");
    assert.equal([e.needed, e.maxWindows, e.windowSamples], [19, 3, 10]);
  }
  assert.match(new TooManyWindowsError(4, 2).message, /needs 4 windows of 64600 samples, more than the limit of 2/);
});

test("scoreClip with another window length hands the model windows of that length", async () => {
  const clip = Float32Array.from({ length: 10 }, (_, i) => i);
  const seen: number[][] = [];
  const result = await scoreClip(clip, async (w) => {
    seen.push(Array.from(w));
    return [0, 0];
  }, { windowSamples: 4, hopSamples: 3 });
  assert.equal(seen, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]);
  assert.is(result.windows[2]!.endSample, 10);
  assert.is(result.windows[2]!.endSeconds, 10 / 16000);
  assert.is(result.probabilityFake, 0.5);
  const padded = await scoreClip(Float32Array.of(0.5, -0.5), async (w) => {
    assert.equal(Array.from(w), [0.5, -0.5, 0.5, -0.5, 0.5]);
    return [1, 0];
  }, { windowSamples: 5 });
  assert.ok(padded.plan.padded);
  assert.is(padded.windows[0]!.endSample, 2);
});

const python = process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const pythonDir = join(dirname(fileURLToPath(import.meta.url)), "..", "python");
const havePython = spawnSync(python, ["-c", "import numpy"]).status === 0;

if (!havePython) {
  test(`Python twin (skipped: ${python} cannot import numpy)`, () => console.log(`  SKIPPED Python twin: ${python} cannot import numpy`));
} else {
  test("the Python twin plans, extracts and scores exactly as this module does", async () => {
    const cases: [number, WindowOptions][] = [];
    for (const length of [1, 999, W - 1, W, W + 1, W + 32299, W + 32300, W + 32301, 20 * 16000, 129 * 16000, 600 * 16000]) {
      cases.push([length, {}], [length, { maxWindows: 5 }], [length, { maxWindows: 1 }], [length, { hopSamples: 16000, maxWindows: 200 }]);
    }
    for (const length of [1, 3, 4, 5, 10, 11, 100]) cases.push([length, { windowSamples: 4 }], [length, { windowSamples: 7, hopSamples: 3, maxWindows: 4 }]);
    const logits: [number, number][] = [[1.3, -0.4], [0, 0], [-800, 800], [800, -800], [2.5, -1], [-3.25, 0.5]];
    const script = [
      "import json, sys",
      `sys.path.insert(0, ${JSON.stringify(pythonDir)})`,
      "import numpy as np",
      "from deepsafe_audio import DEFAULT_HOP, WINDOW_SAMPLES, extract_window, p_fake, plan_windows, score_clip",
      "cases, logits = json.load(sys.stdin)",
      "plans = [plan_windows(n, o.get('hopSamples'), o.get('maxWindows', 32), 'subsample', o.get('windowSamples', WINDOW_SAMPLES)) for n, o in cases]",
      "clip = np.arange(10, dtype=np.float32)",
      "windows = [extract_window(clip, 0, 25).tolist(), extract_window(clip, 3, 4).tolist()]",
      "scored, _ = score_clip(lambda w: (float(w[0]), float(w[-1])), clip, 3, 32, 'subsample', 4)",
      "json.dump({'defaults': [WINDOW_SAMPLES, DEFAULT_HOP], 'plans': plans, 'pFake': [p_fake(a, b) for a, b in logits],",
      "           'windows': windows, 'scored': scored}, sys.stdout)",
    ].join("\n");
    const run = spawnSync(python, ["-c", script], { input: JSON.stringify([cases, logits]), encoding: "utf8" });
    assert.is(run.status, 0, run.stderr);
    const twin = JSON.parse(run.stdout) as {
      defaults: number[];
      plans: unknown[];
      pFake: number[];
      windows: number[][];
      scored: { starts: number[]; logits: number[][]; probabilityFake: number[]; clipProbabilityFake: number };
    };
    assert.equal(twin.defaults, [DEFAULT_WINDOW_SAMPLES, DEFAULT_HOP_SAMPLES]);
    for (const [i, [length, options]] of cases.entries()) {
      assert.equal(twin.plans[i], planWindows(length, options), `length ${length}, ${JSON.stringify(options)}`);
    }
    // exp() of the two runtimes may differ in the last bit
    for (const [i, [s, b]] of logits.entries()) {
      assert.ok(Math.abs(twin.pFake[i]! - probabilityFakeFromLogits(s, b)) <= 1e-16, `logits ${s}, ${b}: ${twin.pFake[i]}`);
    }
    const clip = Float32Array.from({ length: 10 }, (_, i) => i);
    assert.equal(twin.windows, [Array.from(extractWindow(clip, 0, 25)), Array.from(extractWindow(clip, 3, 4))]);
    const scored = await scoreClip(clip, async (w) => [w[0]!, w[w.length - 1]!], { windowSamples: 4, hopSamples: 3 });
    assert.equal(twin.scored.starts, scored.plan.starts);
    assert.equal(twin.scored.logits, scored.windows.map((w) => w.logits));
    assert.ok(Math.abs(twin.scored.clipProbabilityFake - scored.probabilityFake) <= 1e-16);
  });
}

test.run();
