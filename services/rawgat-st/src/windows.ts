// Whole-clip scoring for RawGAT-ST: the network only accepts 64,600 samples (~4.04 s at 16 kHz), so a clip
// is cut into overlapping windows, each window is scored, and the window scores are combined.
// Pure logic (no SDK, no onnxruntime): the inference call is injected. The Python reference
// (python/reference_scores.py) implements the same plan; test/parity.test.ts checks they agree.
// The rules (hop 32,300, last window aligned to the end, repeat-padding of short clips, the window cap
// with even spreading, mean of window P(fake)) are the same as services/aasist/src/windows.ts, so that
// audio scores fuse comparably; this is a local copy until the planner moves into the SDK.

export const SAMPLE_RATE = 16_000;
/** Input length of the published RawGAT-ST models (upstream model_config nb_samp). */
export const WINDOW_SAMPLES = 64_600;
/** Default hop: half a window (50 % overlap). */
export const DEFAULT_HOP_SAMPLES = 32_300;
/** Default cap on windows per clip (32 windows at the default hop cover ~68 s). */
export const DEFAULT_MAX_WINDOWS = 32;
/** Clips shorter than this abstain: repeat-padding a few milliseconds into 4 s is not speech. */
export const DEFAULT_MIN_SECONDS = 0.5;
/** Clips whose peak amplitude is at or below this (−60 dBFS) are treated as silence and abstain. */
export const DEFAULT_SILENCE_PEAK = 1e-3;

export type TooManyWindows = "subsample" | "error";

export interface WindowOptions {
  /** Samples between window starts (default 32,300). */
  hopSamples?: number;
  /** Most windows scored per clip (default 32). */
  maxWindows?: number;
  /** Past maxWindows: spread maxWindows windows evenly over the clip (default), or fail. */
  onTooMany?: TooManyWindows;
}

export interface WindowPlan {
  /** Start sample of each window; each window is WINDOW_SAMPLES long (repeat-padded when the clip is shorter). */
  starts: number[];
  /** The clip is shorter than one window and was repeat-padded (upstream evaluation padding). */
  padded: boolean;
  /** The regular hop needed more than maxWindows windows, so windows were spread out instead. */
  subsampled: boolean;
  /** How many windows the regular hop would have used. */
  regularCount: number;
}

export class TooManyWindowsError extends Error {
  constructor(readonly needed: number, readonly maxWindows: number) {
    super(`the clip needs ${needed} windows of ${WINDOW_SAMPLES} samples, more than the limit of ${maxWindows}`);
    this.name = "TooManyWindowsError";
  }
}

function positiveInt(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

/**
 * Which windows to score for a clip of `length` samples.
 *
 * - 0 < length < 64,600: one window at 0, repeat-padded (the clip tiled from its start, as upstream's
 *   evaluation `pad` does).
 * - otherwise windows start at 0, hop, 2·hop, … while they fit, plus one window aligned to the end of
 *   the clip when the last regular window stops short of it (so every sample is scored).
 * - more than maxWindows: either an error, or maxWindows windows whose starts are spread evenly from
 *   0 to length − 64,600 (first and last windows kept; start_i = floor(i·(length − W)/(maxWindows − 1));
 *   a cap of 1 keeps the centre window). Gaps appear once maxWindows · W < length.
 */
export function planWindows(length: number, options: WindowOptions = {}): WindowPlan {
  if (!Number.isSafeInteger(length) || length <= 0) throw new RangeError(`cannot window a clip of ${length} samples`);
  const hop = positiveInt(options.hopSamples ?? DEFAULT_HOP_SAMPLES, "hopSamples");
  const cap = positiveInt(options.maxWindows ?? DEFAULT_MAX_WINDOWS, "maxWindows");
  if (length < WINDOW_SAMPLES) return { starts: [0], padded: true, subsampled: false, regularCount: 1 };

  const last = length - WINDOW_SAMPLES;
  const regularCount = Math.floor(last / hop) + 1 + (last % hop === 0 ? 0 : 1);
  if (regularCount <= cap) {
    const starts: number[] = [];
    for (let s = 0; s <= last; s += hop) starts.push(s);
    if (starts[starts.length - 1] !== last) starts.push(last);
    return { starts, padded: false, subsampled: false, regularCount };
  }
  if ((options.onTooMany ?? "subsample") === "error") throw new TooManyWindowsError(regularCount, cap);
  const starts =
    cap === 1 ? [Math.floor(last / 2)] : Array.from({ length: cap }, (_, i) => Math.floor((i * last) / (cap - 1)));
  return { starts, padded: false, subsampled: true, regularCount };
}

/** The 64,600 input samples of the window starting at `start` (tiled from the clip start if the clip is short). */
export function windowSamples(samples: Float32Array, start: number): Float32Array {
  const out = new Float32Array(WINDOW_SAMPLES);
  if (samples.length >= start + WINDOW_SAMPLES) {
    out.set(samples.subarray(start, start + WINDOW_SAMPLES));
    return out;
  }
  if (start !== 0 || samples.length === 0) throw new RangeError(`window at ${start} does not fit ${samples.length} samples`);
  for (let at = 0; at < WINDOW_SAMPLES; at += samples.length) {
    out.set(samples.subarray(0, Math.min(samples.length, WINDOW_SAMPLES - at)), at);
  }
  return out;
}

/** P(fake) from RawGAT-ST logits [spoof, bona fide]: softmax(logits)[0] = sigmoid(spoof − bonafide), in float64. */
export function probabilityFakeFromLogits(spoof: number, bonafide: number): number {
  const d = spoof - bonafide;
  if (!Number.isFinite(d)) throw new RangeError(`non-finite logits [${spoof}, ${bonafide}]`);
  return d >= 0 ? 1 / (1 + Math.exp(-d)) : Math.exp(d) / (1 + Math.exp(d));
}

/** Log-odds of a probability, or undefined where it is not finite (p of exactly 0 or 1). */
export function logOdds(p: number): number | undefined {
  const v = Math.log(p) - Math.log1p(-p);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Clip score = arithmetic mean of the windows' P(fake). See MODEL_CARD.md for why: it is stable in the
 * clip length (max would raise the false-alarm rate of long genuine clips with every extra window),
 * with 50 % overlap every sample weighs about equally, and per-window scores are returned as segments
 * so a partly manipulated clip can still be localised.
 */
export function aggregateProbabilities(probabilities: readonly number[]): number {
  if (probabilities.length === 0) throw new RangeError("no window scores to aggregate");
  let sum = 0;
  for (const p of probabilities) sum += p;
  return Math.min(1, Math.max(0, sum / probabilities.length));
}

/** Why a clip cannot be scored meaningfully (the model abstains), or undefined when it can. */
export function unscorableReason(
  samples: Float32Array,
  sampleRate: number,
  options: { minSeconds?: number; silencePeak?: number } = {},
): string | undefined {
  if (sampleRate !== SAMPLE_RATE) throw new RangeError(`RawGAT-ST needs ${SAMPLE_RATE} Hz audio, got ${sampleRate} Hz`);
  if (samples.length === 0) return "no audio samples";
  const minSeconds = options.minSeconds ?? DEFAULT_MIN_SECONDS;
  const seconds = samples.length / sampleRate;
  if (seconds < minSeconds) {
    return `audio too short to score: ${seconds.toFixed(3)} s < ${minSeconds} s`;
  }
  const silencePeak = options.silencePeak ?? DEFAULT_SILENCE_PEAK;
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]!);
    if (a > peak) peak = a;
    else if (Number.isNaN(a)) throw new RangeError(`sample ${i} is NaN`);
  }
  if (peak <= silencePeak) {
    const db = peak > 0 ? `${(20 * Math.log10(peak)).toFixed(1)} dBFS` : "digital silence";
    return `audio is silent (peak ${db}, at or below ${(20 * Math.log10(silencePeak)).toFixed(0)} dBFS)`;
  }
  return undefined;
}

/** One scored window. */
export interface WindowScore {
  index: number;
  startSample: number;
  /** Exclusive; capped at the clip length for a padded short clip. */
  endSample: number;
  startSeconds: number;
  endSeconds: number;
  /** [spoof, bona fide] as returned by the network. */
  logits: [number, number];
  probabilityFake: number;
}

export interface ClipScore {
  probabilityFake: number;
  windows: WindowScore[];
  plan: WindowPlan;
}

/** One network call on one 64,600-sample window, returning [spoof, bona fide] logits. */
export type WindowInference = (window: Float32Array) => Promise<[number, number]>;

/** Plan the windows, run them one after another (stopping early when `signal` aborts), aggregate. */
export async function scoreClip(
  samples: Float32Array,
  infer: WindowInference,
  options: WindowOptions & { signal?: AbortSignal } = {},
): Promise<ClipScore> {
  const plan = planWindows(samples.length, options);
  const windows: WindowScore[] = [];
  for (const [index, start] of plan.starts.entries()) {
    options.signal?.throwIfAborted();
    const logits = await infer(windowSamples(samples, start));
    const endSample = Math.min(start + WINDOW_SAMPLES, samples.length);
    windows.push({
      index,
      startSample: start,
      endSample,
      startSeconds: start / SAMPLE_RATE,
      endSeconds: endSample / SAMPLE_RATE,
      logits,
      probabilityFake: probabilityFakeFromLogits(logits[0], logits[1]),
    });
  }
  return { probabilityFake: aggregateProbabilities(windows.map((w) => w.probabilityFake)), windows, plan };
}
