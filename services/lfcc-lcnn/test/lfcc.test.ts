// The TypeScript half of the front end (src/lfcc.ts) against direct restatements of upstream's
// tensor code: pre-emphasis, stft centre padding and framing, delta / delta-delta with replicated edges.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { frameSegment, preEmphasis, staticFeatures, windowFeatures } from "../src/lfcc.js";
import { planWindows, STATIC_DIM, WINDOW_FRAMES, FEATURE_DIM } from "../src/plan.js";

function noise(n: number, seed = 1): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = s / 1073741824 - 1;
  }
  return x;
}

test("pre-emphasis: y[0] = x[0], y[n] = x[n] − 0.97 x[n−1], rounded like float32 tensors", () => {
  const x = noise(1000);
  const y = preEmphasis(x);
  assert.is(y[0], x[0]);
  const c = Math.fround(0.97);
  for (let i = 1; i < x.length; i++) assert.is(y[i], Math.fround(x[i]! - Math.fround(c * x[i - 1]!)));
  assert.equal(Array.from(preEmphasis(Float32Array.from([1, 1, 0]))), [1, Math.fround(1 - Math.fround(0.97)), Math.fround(-0.97)]);
  assert.is(preEmphasis(new Float32Array(0)).length, 0);
});

test("segments: 160 zeros around the clip, frame t = padded[160t, 160t + 320)", () => {
  const x = Float32Array.from({ length: 1000 }, (_, i) => i + 1); // 6 shifts → 7 frames
  const all = frameSegment(x, 0, 7);
  assert.is(all.length, 160 * 8);
  assert.ok(all.subarray(0, 160).every((v) => v === 0));
  assert.equal(Array.from(all.subarray(160, 163)), [1, 2, 3]);
  assert.is(all[160 + 999], 1000);
  assert.ok(all.subarray(160 + 1000).every((v) => v === 0));
  const mid = frameSegment(x, 2, 4); // padded[320, 800) = x[160, 640)
  assert.is(mid.length, 480);
  assert.is(mid[0], 161);
  assert.is(mid[479], 640);
  assert.throws(() => frameSegment(x, 0, 8), /past the clip's 7 frames/);
  assert.throws(() => frameSegment(x, 3, 3), /bad frame range/);
});

test("static features are requested in chunks covering exactly the needed frames", async () => {
  const samples = 600 * 16000;
  const plan = planWindows(samples, { maxWindows: 3 }); // windows at 0, 29625, 59250
  const x = noise(samples, 5);
  const calls: Array<[number, number, number]> = [];
  const out = await staticFeatures(x, plan, async (segment, frames) => {
    calls.push([segment.length, frames, segment[160]!]); // padded[160 a + 160] = x[160 a]
    return new Float32Array(frames * STATIC_DIM).fill(calls.length);
  }, { chunkFrames: 500 });
  assert.is(out.length, plan.totalFrames * STATIC_DIM);
  // [0, 752): 500 + 252; [29623, 30377): 500 + 254; [59248, 60001): 500 + 253
  assert.equal(calls.map((c) => c[1]), [500, 252, 500, 254, 500, 253]);
  assert.ok(calls.every(([len, frames]) => len === 160 * (frames + 1)));
  assert.equal(calls.map((c) => c[2]), [0, 500, 29623, 30123, 59248, 59748].map((a) => x[160 * a]));
  assert.is(out[751 * STATIC_DIM], 2);
  assert.is(out[752 * STATIC_DIM], 0); // not needed, not computed
  assert.is(out[60000 * STATIC_DIM + 19], 6);
});

/** Upstream's delta on a whole (T, D) matrix: pad by replicating the edge frames, x[t+1] − x[t−1]. */
function upstreamDelta(m: Float32Array[]): Float32Array[] {
  const padded = [m[0]!, ...m, m[m.length - 1]!];
  return m.map((_, t) => padded[t + 2]!.map((v, d) => Math.fround(v - padded[t]![d]!)));
}

function checkWindow(samples: number, start: number) {
  const plan = planWindows(samples);
  const T = plan.totalFrames;
  const flat = noise(T * STATIC_DIM, 9);
  const rows = Array.from({ length: T }, (_, t) => flat.slice(t * STATIC_DIM, (t + 1) * STATIC_DIM));
  const d1 = upstreamDelta(rows);
  const d2 = upstreamDelta(d1);
  const got = windowFeatures(flat, plan, start);
  assert.is(got.length, WINDOW_FRAMES * FEATURE_DIM);
  for (let r = 0; r < WINDOW_FRAMES; r++) {
    const t = plan.padded ? r % plan.usableFrames : start + r;
    const expected = [...rows[t]!, ...d1[t]!, ...d2[t]!];
    for (let d = 0; d < FEATURE_DIM; d++) {
      if (got[r * FEATURE_DIM + d] !== expected[d]) {
        assert.unreachable(`samples ${samples}, start ${start}, row ${r}, dim ${d}: ${got[r * FEATURE_DIM + d]} != ${expected[d]}`);
      }
    }
  }
}

test("window features equal upstream's delta / delta-delta over the whole clip, then frame selection", () => {
  checkWindow(8000, 0); // tiled: rows wrap at 50 frames; the 51st STFT frame still feeds the deltas
  checkWindow(120_000, 0); // exactly 750 usable frames (751 STFT frames)
  const n = 20 * 16000;
  for (const start of planWindows(n).starts) checkWindow(n, start); // includes the last, end-aligned window
});

test.run();
