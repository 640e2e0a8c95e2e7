// The parts of upstream's LFCC front end (sandbox/util_frontend.py at ac488e4) that are plain indexing
// or one float32 operation per value: pre-emphasis, torch.stft's zero centre padding, framing, delta and
// delta-delta with replicated edge frames, and choosing a window's 750 frames. The per-frame DFT, power,
// filter bank, log10, DCT and energy run in frontend.onnx (python/export.py), fed in bounded chunks.
// Every float32 operation here is rounded with Math.fround exactly as PyTorch rounds it.
import {
  FEATURE_DIM,
  FRAME_SHIFT,
  STATIC_DIM,
  WINDOW_FRAMES,
  neededFrameRanges,
  windowFrame,
  type WindowPlan,
} from "./plan.js";

const EMPHASIS = Math.fround(0.97);
/** torch.stft center=True pads n_fft / 2 = 256 zeros; only 160 of them reach the window's 320 taps. */
const PAD = FRAME_SHIFT;
/** Most frames per frontend.onnx call (10 s of audio; ~7 MB of float64 intermediates). */
export const DEFAULT_CHUNK_FRAMES = 1000;

/** y[0] = x[0], y[n] = x[n] − 0.97·x[n−1] in float32 (upstream: x[:, 1:] − 0.97 * x[:, :-1]). */
export function preEmphasis(samples: Float32Array): Float32Array {
  const out = new Float32Array(samples.length);
  if (samples.length === 0) return out;
  out[0] = samples[0]!;
  for (let i = 1; i < samples.length; i++) {
    out[i] = Math.fround(samples[i]! - Math.fround(EMPHASIS * samples[i - 1]!));
  }
  return out;
}

/**
 * frontend.onnx input for frames [from, to): samples [160·from, 160·(to + 1)) of the pre-emphasised
 * clip with 160 zeros in front and behind. Frame t covers padded samples [160 t, 160 t + 320).
 */
export function frameSegment(emphasised: Float32Array, from: number, to: number): Float32Array {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && 0 <= from && from < to)) {
    throw new RangeError(`bad frame range [${from}, ${to})`);
  }
  const totalFrames = Math.floor(emphasised.length / FRAME_SHIFT) + 1;
  if (to > totalFrames) throw new RangeError(`frame ${to - 1} is past the clip's ${totalFrames} frames`);
  const out = new Float32Array(FRAME_SHIFT * (to - from + 1));
  const first = FRAME_SHIFT * from - PAD; // clip sample at out[0]
  const lo = Math.max(0, first);
  const hi = Math.min(emphasised.length, first + out.length);
  if (hi > lo) out.set(emphasised.subarray(lo, hi), lo - first);
  return out;
}

/** One frontend.onnx call: a frameSegment of `frames` frames → frames × 20 static coefficients. */
export type StaticInference = (segment: Float32Array, frames: number) => Promise<Float32Array>;

/** Static LFCC of the frames a plan needs (others stay 0), computed in chunks of at most chunkFrames. */
export async function staticFeatures(
  emphasised: Float32Array,
  plan: WindowPlan,
  infer: StaticInference,
  options: { chunkFrames?: number; signal?: AbortSignal } = {},
): Promise<Float32Array> {
  const chunk = options.chunkFrames ?? DEFAULT_CHUNK_FRAMES;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new RangeError(`chunkFrames must be a positive integer, got ${chunk}`);
  const out = new Float32Array(plan.totalFrames * STATIC_DIM);
  for (const [from, to] of neededFrameRanges(plan)) {
    for (let a = from; a < to; a += chunk) {
      options.signal?.throwIfAborted();
      const b = Math.min(to, a + chunk);
      const values = await infer(frameSegment(emphasised, a, b), b - a);
      if (values.length !== (b - a) * STATIC_DIM) throw new Error(`front end returned ${values.length} values for ${b - a} frames`);
      out.set(values, a * STATIC_DIM);
    }
  }
  return out;
}

/**
 * The network input of one window: 750 rows of [static(20), delta(20), delta-delta(20)], float32.
 * delta[t] = s[min(t+1, T−1)] − s[max(t−1, 0)] over all T frames of the clip (upstream pads by
 * replicating the first and last frame), delta-delta likewise from delta.
 */
export function windowFeatures(staticAll: Float32Array, plan: WindowPlan, start: number): Float32Array {
  const T = plan.totalFrames;
  if (staticAll.length !== T * STATIC_DIM) throw new RangeError(`static features hold ${staticAll.length} values, expected ${T * STATIC_DIM}`);
  const out = new Float32Array(WINDOW_FRAMES * FEATURE_DIM);
  const at = (t: number) => Math.min(T - 1, Math.max(0, t));
  const delta = (t: number, d: number) =>
    Math.fround(staticAll[at(t + 1) * STATIC_DIM + d]! - staticAll[at(t - 1) * STATIC_DIM + d]!);
  for (let row = 0; row < WINDOW_FRAMES; row++) {
    const t = windowFrame(plan, start, row);
    const o = row * FEATURE_DIM;
    for (let d = 0; d < STATIC_DIM; d++) {
      out[o + d] = staticAll[t * STATIC_DIM + d]!;
      out[o + STATIC_DIM + d] = delta(t, d);
      out[o + 2 * STATIC_DIM + d] = Math.fround(delta(at(t + 1), d) - delta(at(t - 1), d));
    }
  }
  return out;
}
