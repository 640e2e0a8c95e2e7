// AASIST / AASIST-L audio anti-spoofing detector (Jung et al., ICASSP 2022) on onnxruntime-node.
import {
  AUDIO_SAMPLE_RATE,
  AudioModel,
  DEFAULT_HOP_SAMPLES,
  DEFAULT_MAX_WINDOWS,
  DEFAULT_MIN_SECONDS,
  DEFAULT_SILENCE_PEAK,
  abstain,
  logOdds,
  makeResult,
  scoreClip,
  unscorableReason,
  type DecodedAudio,
  type LoadContext,
  type ModelCard,
  type ModelResult,
  type PredictContext,
  type Provenance,
  type Segment,
  type TooManyWindows,
} from "@deepsafe/sdk";
import { createAasistSession, readModelDir, VARIANTS, WINDOW_SAMPLES, type AasistSession, type AasistVariant } from "./onnx.js";

export interface AasistOptions {
  /** Samples between window starts (default 32,300 = 50 % overlap). */
  hopSamples?: number;
  /** Most windows per clip (default 32); see onTooMany. */
  maxWindows?: number;
  /** Past maxWindows: spread the windows evenly over the clip (default) or reject the clip. */
  onTooMany?: TooManyWindows;
  /** Shorter clips abstain (default 0.5 s). */
  minSeconds?: number;
  /** Clips whose peak |sample| is at or below this abstain as silent (default 1e-3, −60 dBFS). */
  silencePeak?: number;
}

const UPSTREAM = "clovaai/aasist@a04c9863f63d44471dde8a6abcb3b082b07cd1d1";

function cardFor(variant: AasistVariant): ModelCard {
  const light = variant === "AASIST-L";
  return {
    name: VARIANTS[variant].modelName,
    version: "a04c986",
    description:
      `${variant}: audio anti-spoofing with integrated spectro-temporal graph attention` +
      `${light ? " (lightweight, 85k parameters)" : " (297k parameters)"}, official ${UPSTREAM} weights ` +
      "trained on ASVspoof 2019 LA. Whole clips are scored in overlapping ~4 s windows.",
    paper:
      "J.-w. Jung, H.-S. Heo, H. Tak, H.-j. Shim, J. S. Chung, B.-J. Lee, H.-J. Yu, N. Evans, " +
      '"AASIST: Audio Anti-Spoofing using Integrated Spectro-Temporal Graph Attention Networks", ICASSP 2022, arXiv:2110.01200',
    license: "MIT (Copyright NAVER Corp.)",
    defaultThreshold: 0.5,
    preprocessing:
      "ffmpeg → mono 16 kHz float32, no normalisation; windows of 64,600 samples (4.0375 s), hop 32,300, " +
      "last window aligned to the clip end; clips under 64,600 samples repeat-padded (tiled); " +
      "P(fake) per window = softmax(logits)[spoof]; clip score = mean of window P(fake)",
    tensors: [
      { name: "waveform", datatype: "FP32", shape: [1, WINDOW_SAMPLES] },
      { name: "logits", datatype: "FP32", shape: [1, 2] },
    ],
    mimeTypes: [
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
    ],
  };
}

export class AasistModel extends AudioModel {
  readonly card: ModelCard;
  private session: AasistSession | undefined;

  constructor(
    readonly variant: AasistVariant = "AASIST",
    private readonly options: AasistOptions = {},
  ) {
    super();
    this.card = cardFor(variant);
  }

  async load(ctx: LoadContext): Promise<Provenance> {
    const { onnxPath, provenance } = await readModelDir(ctx.modelDir, this.variant);
    const session = await createAasistSession(onnxPath, ctx.intraOpThreads);
    await this.session?.release();
    this.session = session;
    return {
      kind: provenance.kind,
      source: provenance.source,
      checkpointSha256: provenance.checkpointSha256,
      onnxSha256: provenance.onnxSha256,
      license: provenance.license,
      description: provenance.description,
    };
  }

  override async warmup(): Promise<void> {
    const window = new Float32Array(WINDOW_SAMPLES);
    for (let i = 0; i < window.length; i++) window[i] = 0.1 * Math.sin((2 * Math.PI * 440 * i) / AUDIO_SAMPLE_RATE);
    await this.requireSession().infer(window);
  }

  async predict(input: DecodedAudio, ctx: PredictContext): Promise<ModelResult> {
    const reason = unscorableReason(input.samples, input.sampleRate, {
      minSeconds: this.options.minSeconds ?? DEFAULT_MIN_SECONDS,
      silencePeak: this.options.silencePeak ?? DEFAULT_SILENCE_PEAK,
      modelName: this.variant,
    });
    if (reason !== undefined) return abstain(reason, ctx.threshold);

    const session = this.requireSession();
    const hopSamples = this.options.hopSamples ?? DEFAULT_HOP_SAMPLES;
    const clip = await scoreClip(input.samples, session.infer, {
      windowSamples: WINDOW_SAMPLES,
      hopSamples,
      maxWindows: this.options.maxWindows ?? DEFAULT_MAX_WINDOWS,
      onTooMany: this.options.onTooMany ?? "subsample",
      signal: ctx.signal,
    });
    const segments: Segment[] = clip.windows.map((w) => ({
      kind: "window",
      index: w.index,
      probabilityFake: w.probabilityFake,
      startSeconds: w.startSeconds,
      endSeconds: w.endSeconds,
    }));
    const top = clip.windows.reduce((a, b) => (b.probabilityFake > a.probabilityFake ? b : a));
    const notes = [
      `mean P(fake) of ${clip.windows.length} window${clip.windows.length === 1 ? "" : "s"}`,
      `highest ${top.probabilityFake.toFixed(4)} at ${top.startSeconds.toFixed(2)}–${top.endSeconds.toFixed(2)} s`,
    ];
    if (clip.plan.padded) notes.push(`clip shorter than ${WINDOW_SAMPLES} samples, repeat-padded`);
    if (clip.plan.subsampled) {
      notes.push(`${clip.plan.regularCount} windows needed at hop ${hopSamples}; ${clip.windows.length} spread evenly instead`);
    }
    return makeResult(clip.probabilityFake, ctx.threshold, {
      logit: logOdds(clip.probabilityFake),
      segments,
      note: notes.join("; "),
    });
  }

  override async dispose(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }

  private requireSession(): AasistSession {
    if (!this.session) throw new Error(`${this.card.name} is not loaded`);
    return this.session;
  }
}
