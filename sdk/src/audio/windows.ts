// Whole-clip scoring for fixed-length raw-waveform audio models (AASIST, AASIST-L, RawGAT-ST): such a
// network only accepts one input length (64,600 samples, ~4.04 s at 16 kHz, for the published models),
// so a clip is cut into overlapping windows, each window is scored, and the window scores are combined.
// Every audio detector using it applies the same rules (hop, last window aligned to the end,
// repeat-padding of short clips, the window cap with even spreading, mean of window P(fake)), so that
// audio scores fuse comparably.
// Pure logic (no onnxruntime, no I/O): the inference call is injected. The Python twin is
// sdk/python/deepsafe_audio.py (plan_windows, extract_window, p_fake); each service's
// test/parity.test.ts checks that the two agree on real audio.

/** Sample rate the window models take (what decodeAudio produces by default). */
export const AUDIO_SAMPLE_RATE = 16_000;
/** Default window length: the input length of the published AASIST / AASIST-L / RawGAT-ST models (upstream nb_samp). */
export const DEFAULT_WINDOW_SAMPLES = 64_600;
/** Default hop: half a window (50 % overlap), 32,300 samples for the default window. */
export const DEFAULT_HOP_SAMPLES = DEFAULT_WINDOW_SAMPLES / 2;
/**
 * Default cap on windows per clip: bounds the inference time of one clip (32 × the per-window time in
 * the service's MODEL_CARD.md); 32 windows at the default hop cover ~68 s.
 */
export const DEFAULT_MAX_WINDOWS = 32;
/** Clips shorter than this abstain: repeat-padding a few milliseconds into 4 s is not speech. */
export const DEFAULT_MIN_SECONDS = 0.5;
/** Clips whose peak amplitude is at or below this (−60 dBFS) are treated as silence and abstain. */
export const DEFAULT_SILENCE_PEAK = 1e-3;

export type TooManyWindows = "subsample" | "error";

export interface WindowOptions {
  /** Input length of the model, in samples (default 64,600). */
  windowSamples?: number;
  /** Samples between window starts (default half the window: 32,300 for the default window). */
  hopSamples?: number;
  /** Most windows scored per clip (default 32). */
  maxWindows?: number;
  /** Past maxWindows: spread maxWindows windows evenly over the clip (default), or fail. */
  onTooMany?: TooManyWindows;
}

export interface WindowPlan {
  /** Start sample of each window; each window is windowSamples long (repeat-padded when the clip is shorter). */
  starts: number[];
  /** The clip is shorter than one window and was repeat-padded (upstream evaluation padding). */
  padded: boolean;
  /** The regular hop needed more than maxWindows windows, so windows were spread out instead. */
  subsampled: boolean;
  /** How many windows the regular hop would have used. */
  regularCount: number;
}

export class TooManyWindowsError extends Error {
  constructor(
    readonly needed: number,
    readonly maxWindows: number,
    readonly windowSamples: number = DEFAULT_WINDOW_SAMPLES,
  ) {
    super(`the clip needs ${needed} windows of ${windowSamples} samples, more than the limit of ${maxWindows}`);
    this.name = "TooManyWindowsError";
  }
}

function positiveInt(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  return value;
}

function windowLength(options: { windowSamples?: number }): number {
  return positiveInt(options.windowSamples ?? DEFAULT_WINDOW_SAMPLES, "windowSamples");
}

/**
 * Which windows of W samples (W = windowSamples, default 64,600) to score for a clip of `length` samples.
 *
 * - 0 < length < W: one window at 0, repeat-padded (the clip tiled from its start, as upstream's
 *   evaluation `pad` does).
 * - otherwise windows start at 0, hop, 2·hop, … while they fit, plus one window aligned to the end of
 *   the clip when the last regular window stops short of it (so every sample is scored).
 * - more than maxWindows: either an error, or maxWindows windows whose starts are spread evenly from
 *   0 to length − W (first and last windows kept; start_i = floor(i·(length − W)/(maxWindows − 1));
 *   a cap of 1 keeps the centre window). Gaps appear once maxWindows · W < length.
 */
export function planWindows(length: number, options: WindowOptions = {}): WindowPlan {
  if (!Number.isSafeInteger(length) || length <= 0) throw new RangeError(`cannot window a clip of ${length} samples`);
  const size = windowLength(options);
  const hop = positiveInt(options.hopSamples ?? Math.max(1, Math.floor(size / 2)), "hopSamples");
  const cap = positiveInt(options.maxWindows ?? DEFAULT_MAX_WINDOWS, "maxWindows");
  if (length < size) return { starts: [0], padded: true, subsampled: false, regularCount: 1 };

  const last = length - size;
  const regularCount = Math.floor(last / hop) + 1 + (last % hop === 0 ? 0 : 1);
  if (regularCount <= cap) {
    const starts: number[] = [];
    for (let s = 0; s <= last; s += hop) starts.push(s);
    if (starts[starts.length - 1] !== last) starts.push(last);
    return { starts, padded: false, subsampled: false, regularCount };
  }
  if ((options.onTooMany ?? "subsample") === "error") throw new TooManyWindowsError(regularCount, cap, size);
  const starts =
    cap === 1 ? [Math.floor(last / 2)] : Array.from({ length: cap }, (_, i) => Math.floor((i * last) / (cap - 1)));
  return { starts, padded: false, subsampled: true, regularCount };
}

/**
 * The `windowSamples` input samples (default 64,600) of the window starting at `start`, as a new array
 * (tiled from the clip start if the clip is shorter than one window).
 */
export function extractWindow(samples: Float32Array, start: number, windowSamples: number = DEFAULT_WINDOW_SAMPLES): Float32Array {
  const size = windowLength({ windowSamples });
  const out = new Float32Array(size);
  if (samples.length >= start + size) {
    out.set(samples.subarray(start, start + size));
    return out;
  }
  if (start !== 0 || samples.length === 0) throw new RangeError(`window at ${start} does not fit ${samples.length} samples`);
  for (let at = 0; at < size; at += samples.length) {
    out.set(samples.subarray(0, Math.min(samples.length, size - at)), at);
  }
  return out;
}

/**
 * P(fake) from two-class logits [spoof, bona fide] (the output order of AASIST and RawGAT-ST):
 * softmax(logits)[0] = sigmoid(spoof − bonafide), in float64.
 */
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
 * Clip score = arithmetic mean of the windows' P(fake). See services/aasist/MODEL_CARD.md for why: it
 * is stable in the clip length (max would raise the false-alarm rate of long genuine clips with every
 * extra window), with 50 % overlap every sample weighs about equally, and per-window scores are
 * returned as segments so a partly manipulated clip can still be localised.
 */
export function aggregateProbabilities(probabilities: readonly number[]): number {
  if (probabilities.length === 0) throw new RangeError("no window scores to aggregate");
  let sum = 0;
  for (const p of probabilities) sum += p;
  return Math.min(1, Math.max(0, sum / probabilities.length));
}

export interface UnscorableOptions {
  /** Shorter clips are unscorable (default 0.5 s). */
  minSeconds?: number;
  /** Clips whose peak |sample| is at or below this are silent (default 1e-3, −60 dBFS). */
  silencePeak?: number;
  /** Names the model in the error for audio at the wrong sample rate (default "the model"). */
  modelName?: string;
}

/**
 * Why a clip cannot be scored meaningfully (the model abstains), or undefined when it can.
 * Audio that is not at 16 kHz is a caller error (the SDK decodes to 16 kHz), so it throws.
 */
export function unscorableReason(samples: Float32Array, sampleRate: number, options: UnscorableOptions = {}): string | undefined {
  if (sampleRate !== AUDIO_SAMPLE_RATE) {
    throw new RangeError(`${options.modelName ?? "the model"} needs ${AUDIO_SAMPLE_RATE} Hz audio, got ${sampleRate} Hz`);
  }
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

/** One network call on one window (windowSamples long), returning [spoof, bona fide] logits. */
export type WindowInference = (window: Float32Array) => Promise<[number, number]>;

/** Plan the windows of 16 kHz samples, run them one after another (stopping early when `signal` aborts), aggregate. */
export async function scoreClip(
  samples: Float32Array,
  infer: WindowInference,
  options: WindowOptions & { signal?: AbortSignal } = {},
): Promise<ClipScore> {
  const size = windowLength(options);
  const plan = planWindows(samples.length, options);
  const windows: WindowScore[] = [];
  for (const [index, start] of plan.starts.entries()) {
    options.signal?.throwIfAborted();
    const logits = await infer(extractWindow(samples, start, size));
    const endSample = Math.min(start + size, samples.length);
    windows.push({
      index,
      startSample: start,
      endSample,
      startSeconds: start / AUDIO_SAMPLE_RATE,
      endSeconds: endSample / AUDIO_SAMPLE_RATE,
      logits,
      probabilityFake: probabilityFakeFromLogits(logits[0], logits[1]),
    });
  }
  return { probabilityFake: aggregateProbabilities(windows.map((w) => w.probabilityFake)), windows, plan };
}
