// Which 750-frame windows of a clip LFCC-LCNN scores, and how a window's output becomes P(fake).
// Pure logic (no onnxruntime); averaging, log-odds and abstaining are the SDK's (sdk/src/audio/windows.ts),
// as for every audio detector. python/reference_scores.py implements the same plan;
// test/parity.test.ts checks that both agree.
//
// Upstream (project/02-asvspoof/lfcc-lcnn-*/model.py, Model._front_end) computes the LFCC of the whole
// utterance, then with n = floor(N / 160) "true" frames: n <= 750 → frames 0..n-1 tiled to 750;
// n > 750 → one 750-frame crop at a random position. We keep the first rule and replace the random
// crop by overlapping windows covering the clip (all from the whole-clip LFCC).
import {
  AUDIO_SAMPLE_RATE,
  DEFAULT_MAX_WINDOWS,
  DEFAULT_MIN_SECONDS,
  probabilityFakeFromLogits,
  unscorableReason as clipUnscorableReason,
  type TooManyWindows,
  type UnscorableOptions,
} from "@deepsafe/sdk";

export { aggregateProbabilities, logOdds } from "@deepsafe/sdk";

export const SAMPLE_RATE = AUDIO_SAMPLE_RATE;
/** STFT hop and frame length in samples (10 ms / 20 ms). */
export const FRAME_SHIFT = 160;
export const FRAME_LENGTH = 320;
/** Frames per network input (upstream v_truncate_lens = 10 * 16 * 750 // 160). */
export const WINDOW_FRAMES = 750;
/** 20 static coefficients (c0 replaced by log energy) + delta + delta-delta. */
export const STATIC_DIM = 20;
export const FEATURE_DIM = 60;
/** Samples spanned by one window's frame shifts: 750 × 160 = 120,000 (7.5 s). */
export const WINDOW_SAMPLES = WINDOW_FRAMES * FRAME_SHIFT;
/** Default hop between windows: 375 frames = 60,000 samples (3.75 s, 50 % overlap). */
export const DEFAULT_HOP_FRAMES = 375;
// Window cap (32 windows at the default hop cover 123.75 s), shortest and quietest scored clip: the
// SDK's defaults (DEFAULT_MAX_WINDOWS, DEFAULT_MIN_SECONDS, DEFAULT_SILENCE_PEAK).

export interface PlanOptions {
  /** Frames between window starts (default 375). */
  hopFrames?: number;
  /** Most windows per clip (default 32). */
  maxWindows?: number;
  /** Past maxWindows: spread maxWindows windows evenly over the clip (default), or fail. */
  onTooMany?: TooManyWindows;
}

export interface WindowPlan {
  /** STFT frames of the whole clip: floor(N / 160) + 1 (torch.stft with center=True). */
  totalFrames: number;
  /** floor(N / 160): the frames upstream selects from (the last STFT frame is never used). */
  usableFrames: number;
  /** First frame of each window; a padded clip has one window at 0. */
  starts: number[];
  /** usableFrames < 750: frames 0..usableFrames-1 are tiled to fill the one window (upstream). */
  padded: boolean;
  /** The regular hop needed more than maxWindows windows, so windows were spread out instead. */
  subsampled: boolean;
  /** How many windows the regular hop would have used. */
  regularCount: number;
}

export class TooManyWindowsError extends Error {
  constructor(readonly needed: number, readonly maxWindows: number) {
    super(`the clip needs ${needed} windows of ${WINDOW_FRAMES} frames, more than the limit of ${maxWindows}`);
    this.name = "TooManyWindowsError";
  }
}

function positiveInt(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Windows for a clip of `samples` samples (n = floor(samples / 160) usable frames):
 * - n <= 750: one window, frame i of the window = frame i mod n (upstream's tiling; n = 750 is not padded);
 * - otherwise windows start at frames 0, hop, 2·hop, … while they fit, plus one ending at frame n − 1
 *   when the regular ones stop short of it;
 * - more than maxWindows: an error, or maxWindows windows starting at floor(i·(n − 750)/(maxWindows − 1))
 *   (first and last kept; a cap of 1 keeps the centre window).
 */
export function planWindows(samples: number, options: PlanOptions = {}): WindowPlan {
  if (!Number.isSafeInteger(samples) || samples < FRAME_SHIFT) {
    throw new RangeError(`cannot window a clip of ${samples} samples (at least ${FRAME_SHIFT} needed)`);
  }
  const hop = positiveInt(options.hopFrames ?? DEFAULT_HOP_FRAMES, "hopFrames");
  const cap = positiveInt(options.maxWindows ?? DEFAULT_MAX_WINDOWS, "maxWindows");
  const usableFrames = Math.floor(samples / FRAME_SHIFT);
  const totalFrames = usableFrames + 1;
  const base = { totalFrames, usableFrames };
  if (usableFrames <= WINDOW_FRAMES) {
    return { ...base, starts: [0], padded: usableFrames < WINDOW_FRAMES, subsampled: false, regularCount: 1 };
  }
  const last = usableFrames - WINDOW_FRAMES;
  const regularCount = Math.floor(last / hop) + 1 + (last % hop === 0 ? 0 : 1);
  if (regularCount <= cap) {
    const starts: number[] = [];
    for (let s = 0; s <= last; s += hop) starts.push(s);
    if (starts[starts.length - 1] !== last) starts.push(last);
    return { ...base, starts, padded: false, subsampled: false, regularCount };
  }
  if ((options.onTooMany ?? "subsample") === "error") throw new TooManyWindowsError(regularCount, cap);
  const starts =
    cap === 1 ? [Math.floor(last / 2)] : Array.from({ length: cap }, (_, i) => Math.floor((i * last) / (cap - 1)));
  return { ...base, starts, padded: false, subsampled: true, regularCount };
}

/** The clip frame feeding row `row` (0..749) of the window starting at `start`. */
export function windowFrame(plan: WindowPlan, start: number, row: number): number {
  return plan.padded ? row % plan.usableFrames : start + row;
}

/**
 * Frame ranges [from, to) whose static LFCC the plan's windows need: each window's frames plus two
 * on either side (delta and delta-delta), clipped to the clip, merged where they touch.
 */
export function neededFrameRanges(plan: WindowPlan): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  for (const start of plan.starts) {
    const span = plan.padded ? plan.usableFrames : WINDOW_FRAMES;
    const from = Math.max(0, start - 2);
    const to = Math.min(plan.totalFrames, start + span + 2);
    const prev = ranges[ranges.length - 1];
    if (prev && from <= prev[1]) prev[1] = Math.max(prev[1], to);
    else ranges.push([from, to]);
  }
  return ranges;
}

/** Seconds covered by a window: frames [start, start + 750) at 10 ms, capped at the clip length. */
export function windowSeconds(plan: WindowPlan, start: number, samples: number): { startSeconds: number; endSeconds: number } {
  const end = plan.padded ? samples : Math.min(samples, (start + WINDOW_FRAMES) * FRAME_SHIFT);
  return { startSeconds: (start * FRAME_SHIFT) / SAMPLE_RATE, endSeconds: end / SAMPLE_RATE };
}

export type Variant = "sigmoid" | "a-softmax";

/**
 * P(fake) of one window from the network output, in float64:
 * sigmoid: output [z], z = logit of bona fide (upstream target 1 = bona fide) → 1 − sigmoid(z) = sigmoid(−z);
 * a-softmax: output [cos_spoof, cos_bonafide] → softmax(cos)[spoof] = sigmoid(cos_spoof − cos_bonafide).
 */
export function probabilityFake(variant: Variant, output: readonly number[]): number {
  if (!output.every(Number.isFinite)) throw new RangeError(`non-finite network output [${output.join(", ")}]`);
  return variant === "sigmoid" ? probabilityFakeFromLogits(-output[0]!, 0) : probabilityFakeFromLogits(output[0]!, output[1]!);
}

/**
 * Why a clip cannot be scored meaningfully (the model abstains), or undefined when it can: the SDK's
 * rules, with at least one frame shift (10 ms) of audio whatever minSeconds says.
 */
export function unscorableReason(
  samples: Float32Array,
  sampleRate: number,
  options: Omit<UnscorableOptions, "modelName"> = {},
): string | undefined {
  return clipUnscorableReason(samples, sampleRate, {
    minSeconds: Math.max(options.minSeconds ?? DEFAULT_MIN_SECONDS, FRAME_SHIFT / SAMPLE_RATE),
    silencePeak: options.silencePeak,
    modelName: "LFCC-LCNN",
  });
}
