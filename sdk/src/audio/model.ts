// Whole-clip windowed audio detectors: the AudioModel part every such service shares. A subclass
// opens its session (open) and scores a clip in windows (score); this class does the rest the same way
// for all of them: abstaining on unscorable audio, the clip result with one segment per window and a
// note, warm-up, swapping and releasing the session.
// WaveformWindowModel is the whole detector for a fixed-length raw-waveform model (AASIST, AASIST-L,
// RawGAT-ST), scored with scoreClip (windows.ts); models with their own window planner (LFCC-LCNN's
// 750-frame windows) extend WindowedAudioModel directly.
import { abstain, makeResult, type LoadContext, type ModelCard, type ModelResult, type PredictContext, type Provenance, type Segment } from "../model.js";
import type { DecodedAudio } from "../decode/audio.js";
import { AudioModel } from "../media.js";
import { servedProvenance, type WaveformSession } from "./onnx.js";
import {
  AUDIO_SAMPLE_RATE,
  DEFAULT_MAX_WINDOWS,
  DEFAULT_MIN_SECONDS,
  DEFAULT_SILENCE_PEAK,
  DEFAULT_WINDOW_SAMPLES,
  logOdds,
  scoreClip,
  unscorableReason,
  type ClipScore,
  type TooManyWindows,
} from "./windows.js";

/** What the audio detectors accept: audio files, and videos for their soundtrack (ModelCard.mimeTypes). */
export const AUDIO_MIME_TYPES: readonly string[] = [
  "audio/wav",
  "audio/mpeg",
  "audio/aac",
  "audio/flac",
  "audio/ogg",
  "audio/mp4",
  "video/mp4",
  "video/quicktime",
  "video/webm",
  "video/x-matroska",
  "video/x-msvideo",
];

/**
 * The card of a raw-waveform window model: the model's own name, version, description, paper and
 * license, plus what all of them share: threshold 0.5, the preprocessing (decoding, windows at the default
 * half-window hop, padding, P(fake)), the tensors "waveform" [1, windowSamples] → "logits" [1, 2], and
 * AUDIO_MIME_TYPES.
 */
export function waveformWindowCard(
  card: Pick<ModelCard, "name" | "version" | "description" | "paper" | "license">,
  windowSamples: number = DEFAULT_WINDOW_SAMPLES,
): ModelCard {
  const n = (v: number) => v.toLocaleString("en-US");
  return {
    ...card,
    defaultThreshold: 0.5,
    preprocessing:
      `ffmpeg → mono 16 kHz float32, no normalisation; windows of ${n(windowSamples)} samples (${windowSamples / AUDIO_SAMPLE_RATE} s), ` +
      `hop ${n(Math.max(1, Math.floor(windowSamples / 2)))}, last window aligned to the clip end; clips under ${n(windowSamples)} ` +
      "samples repeat-padded (tiled); P(fake) per window = softmax(logits)[spoof]; clip score = mean of window P(fake)",
    tensors: [
      { name: "waveform", datatype: "FP32", shape: [1, windowSamples] },
      { name: "logits", datatype: "FP32", shape: [1, 2] },
    ],
    mimeTypes: [...AUDIO_MIME_TYPES],
  };
}

/** A scored clip as a windowed model reports it (ClipScore of scoreClip is one). */
export interface WindowedClip {
  probabilityFake: number;
  windows: ReadonlyArray<{ index: number; probabilityFake: number; startSeconds: number; endSeconds: number }>;
  plan: { padded: boolean; subsampled: boolean; regularCount: number };
}

/** What the note says about a clip's windows, in the model's own units. */
export interface WindowNotes {
  /** Said when the clip was shorter than one window, e.g. "clip shorter than 64600 samples, repeat-padded". */
  padded: string;
  /** The hop, e.g. "32300" or "375 frames" ("… windows needed at hop <hop>; …"). */
  hop: string;
}

/**
 * The detector result of a windowed clip: P(fake) = the clip score, its log-odds, one "window" segment
 * per window, and a note naming the number of windows, the highest-scoring one, padding and subsampling.
 */
export function windowedResult(clip: WindowedClip, threshold: number, notes: WindowNotes): ModelResult {
  const segments: Segment[] = clip.windows.map((w) => ({
    kind: "window",
    index: w.index,
    probabilityFake: w.probabilityFake,
    startSeconds: w.startSeconds,
    endSeconds: w.endSeconds,
  }));
  const top = clip.windows.reduce((a, b) => (b.probabilityFake > a.probabilityFake ? b : a));
  const lines = [
    `mean P(fake) of ${clip.windows.length} window${clip.windows.length === 1 ? "" : "s"}`,
    `highest ${top.probabilityFake.toFixed(4)} at ${top.startSeconds.toFixed(2)}–${top.endSeconds.toFixed(2)} s`,
  ];
  if (clip.plan.padded) lines.push(notes.padded);
  if (clip.plan.subsampled) {
    lines.push(`${clip.plan.regularCount} windows needed at hop ${notes.hop}; ${clip.windows.length} spread evenly instead`);
  }
  return makeResult(clip.probabilityFake, threshold, {
    logit: logOdds(clip.probabilityFake),
    segments,
    note: lines.join("; "),
  });
}

export interface WindowedAudioOptions {
  /** Most windows per clip (default 32); see onTooMany. */
  maxWindows?: number;
  /** Past maxWindows: spread the windows evenly over the clip (default) or reject the clip. */
  onTooMany?: TooManyWindows;
  /** Shorter clips abstain (default 0.5 s). */
  minSeconds?: number;
  /** Clips whose peak |sample| is at or below this abstain as silent (default 1e-3, −60 dBFS). */
  silencePeak?: number;
}

/** What the scoring of one clip is given besides the samples. */
export interface ClipRequest {
  maxWindows: number;
  onTooMany: TooManyWindows;
  signal?: AbortSignal;
}

/**
 * An AudioModel that scores whole clips in windows with one session of type S; C is what its score()
 * returns. Subclasses give the card, open(), score() and windowNotes(); abstaining (unscorable), the
 * result, warm-up and the session's lifetime are done here.
 */
export abstract class WindowedAudioModel<S extends { release(): Promise<void> }, C extends WindowedClip = WindowedClip> extends AudioModel {
  private session: S | undefined;

  /**
   * @param label names the model in the error for audio at the wrong sample rate
   * @param warmupSamples length of the 440 Hz tone scored by warmup()
   */
  constructor(
    protected readonly label: string,
    protected readonly options: WindowedAudioOptions,
    private readonly warmupSamples: number,
  ) {
    super();
  }

  /** Check the converted model in ctx.modelDir and open a session on it. */
  protected abstract open(ctx: LoadContext): Promise<{ session: S; provenance: Provenance }>;

  /** Score a whole clip of 16 kHz samples in windows. */
  protected abstract score(samples: Float32Array, session: S, request: ClipRequest): Promise<C>;

  /** The note's wording for this clip's padding and hop. */
  protected abstract windowNotes(clip: C): WindowNotes;

  /** Why the clip is not scored (the model abstains), or undefined. */
  protected unscorable(input: DecodedAudio): string | undefined {
    return unscorableReason(input.samples, input.sampleRate, {
      minSeconds: this.options.minSeconds ?? DEFAULT_MIN_SECONDS,
      silencePeak: this.options.silencePeak ?? DEFAULT_SILENCE_PEAK,
      modelName: this.label,
    });
  }

  async load(ctx: LoadContext): Promise<Provenance> {
    const { session, provenance } = await this.open(ctx);
    await this.session?.release();
    this.session = session;
    return servedProvenance(provenance);
  }

  override async warmup(): Promise<void> {
    const samples = new Float32Array(this.warmupSamples);
    for (let i = 0; i < samples.length; i++) samples[i] = 0.1 * Math.sin((2 * Math.PI * 440 * i) / AUDIO_SAMPLE_RATE);
    await this.score(samples, this.requireSession(), this.clipRequest());
  }

  async predict(input: DecodedAudio, ctx: PredictContext): Promise<ModelResult> {
    const reason = this.unscorable(input);
    if (reason !== undefined) return abstain(reason, ctx.threshold);
    const clip = await this.score(input.samples, this.requireSession(), this.clipRequest(ctx.signal));
    return windowedResult(clip, ctx.threshold, this.windowNotes(clip));
  }

  override async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }

  private clipRequest(signal?: AbortSignal): ClipRequest {
    return { maxWindows: this.options.maxWindows ?? DEFAULT_MAX_WINDOWS, onTooMany: this.options.onTooMany ?? "subsample", signal };
  }

  private requireSession(): S {
    if (!this.session) throw new Error(`${this.card.name} is not loaded`);
    return this.session;
  }
}

export interface WaveformWindowOptions extends WindowedAudioOptions {
  /** Samples between window starts (default half a window: 32,300 = 50 % overlap). */
  hopSamples?: number;
}

/** A fixed-length raw-waveform window model: the subclass gives its card and open(). */
export abstract class WaveformWindowModel extends WindowedAudioModel<WaveformSession> {
  private readonly hopSamples: number;

  /**
   * @param label names the model in errors
   * @param windowSamples the graph's input length (default 64,600)
   */
  constructor(
    label: string,
    options: WaveformWindowOptions = {},
    protected readonly windowSamples: number = DEFAULT_WINDOW_SAMPLES,
  ) {
    super(label, options, windowSamples);
    this.hopSamples = options.hopSamples ?? Math.max(1, Math.floor(windowSamples / 2));
  }

  protected score(samples: Float32Array, session: WaveformSession, request: ClipRequest): Promise<ClipScore> {
    return scoreClip(samples, session.infer, { ...request, windowSamples: this.windowSamples, hopSamples: this.hopSamples });
  }

  protected windowNotes(): WindowNotes {
    return { padded: `clip shorter than ${this.windowSamples} samples, repeat-padded`, hop: String(this.hopSamples) };
  }
}

/** A positive integer from the environment variable `name`, or undefined when it is unset or empty. */
export function positiveIntFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}
