// LFCC-LCNN audio anti-spoofing detector (Wang & Yamagishi, NII; ASVspoof 2019 LA) on onnxruntime-node.
import {
  AudioModel,
  abstain,
  makeResult,
  type DecodedAudio,
  type LoadContext,
  type ModelCard,
  type ModelResult,
  type PredictContext,
  type Provenance,
  type Segment,
} from "@deepsafe/sdk";
import { createLfccLcnnSession, readModelDir, UPSTREAM_COMMIT, UPSTREAM_REPO, VARIANTS, type LfccLcnnSession } from "./onnx.js";
import {
  DEFAULT_HOP_FRAMES,
  DEFAULT_MAX_WINDOWS,
  DEFAULT_MIN_SECONDS,
  DEFAULT_SILENCE_PEAK,
  FEATURE_DIM,
  FRAME_SHIFT,
  SAMPLE_RATE,
  WINDOW_FRAMES,
  logOdds,
  unscorableReason,
  type TooManyWindows,
  type Variant,
} from "./plan.js";
import { scoreClip } from "./score.js";

export interface LfccLcnnOptions {
  /** Frames between window starts (default 375 = 3.75 s, 50 % overlap). */
  hopFrames?: number;
  /** Most windows per clip (default 32); see onTooMany. */
  maxWindows?: number;
  /** Past maxWindows: spread the windows evenly over the clip (default) or reject the clip. */
  onTooMany?: TooManyWindows;
  /** Shorter clips abstain (default 0.5 s). */
  minSeconds?: number;
  /** Clips whose peak |sample| is at or below this abstain as silent (default 1e-3, −60 dBFS). */
  silencePeak?: number;
}

function cardFor(variant: Variant): ModelCard {
  const sigmoid = variant === "sigmoid";
  return {
    name: VARIANTS[variant].modelName,
    version: UPSTREAM_COMMIT.slice(0, 7),
    description:
      `LFCC-LCNN (${variant} output): light CNN with max-feature-map activations on linear-frequency cepstral ` +
      `coefficients, official ${UPSTREAM_REPO}@${UPSTREAM_COMMIT} weights trained on ASVspoof 2019 LA. ` +
      "Whole clips are scored in overlapping 7.5 s windows.",
    paper:
      "LCNN: G. Lavrentyeva et al., \"STC Antispoofing Systems for the ASVspoof2019 Challenge\", Interspeech 2019; " +
      "LFCC: M. Sahidullah, T. Kinnunen, C. Hanilçi, \"A Comparison of Features for Synthetic Speech Detection\", " +
      "Interspeech 2015; implementation and weights: Xin Wang (NII), project-NN-Pytorch-scripts 02-asvspoof (2020), " +
      "see also X. Wang, J. Yamagishi, Interspeech 2021, arXiv:2103.11326",
    license: "BSD-3-Clause (Copyright (c) 2022, Xin Wang, National Institute of Informatics)",
    defaultThreshold: 0.5,
    preprocessing:
      "ffmpeg → mono 16 kHz float32, no normalisation; LFCC of the whole clip: pre-emphasis 0.97, 320-sample " +
      "periodic Hamming frames every 160 samples (zero-padded centre STFT, 512-point DFT), power, 20 linear " +
      "triangular filters, log10, orthonormal DCT, c0 replaced by log energy, + delta + delta-delta (replicated " +
      "edges) = 60 dims; windows of 750 frames (120,000 samples, 7.5 s), hop 375 frames (60,000 samples), last " +
      "window aligned to the clip end; clips under 751 frame shifts tile their frames (upstream); " +
      (sigmoid
        ? "P(fake) = 1 − sigmoid(logit of bona fide)"
        : "P(fake) = softmax(cos θ)[spoof] (a-softmax angles; at most 0.881)") +
      "; clip score = mean of window P(fake)",
    tensors: [
      { name: "segment", datatype: "FP32", shape: [1, -1] },
      { name: "static", datatype: "FP32", shape: [1, -1, 20] },
      { name: "features", datatype: "FP32", shape: [1, WINDOW_FRAMES, FEATURE_DIM] },
      { name: "logits", datatype: "FP32", shape: [1, VARIANTS[variant].outputs] },
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

export class LfccLcnnModel extends AudioModel {
  readonly card: ModelCard;
  private session: LfccLcnnSession | undefined;

  constructor(
    readonly variant: Variant = "sigmoid",
    private readonly options: LfccLcnnOptions = {},
  ) {
    super();
    this.card = cardFor(variant);
  }

  async load(ctx: LoadContext): Promise<Provenance> {
    const { onnxPath, frontendPath, provenance } = await readModelDir(ctx.modelDir, this.variant);
    const session = await createLfccLcnnSession({ onnxPath, frontendPath }, this.variant, ctx.intraOpThreads);
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
    const samples = new Float32Array(2 * SAMPLE_RATE);
    for (let i = 0; i < samples.length; i++) samples[i] = 0.1 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE);
    await scoreClip(samples, this.requireSession(), this.variant);
  }

  async predict(input: DecodedAudio, ctx: PredictContext): Promise<ModelResult> {
    const reason = unscorableReason(input.samples, input.sampleRate, {
      minSeconds: this.options.minSeconds ?? DEFAULT_MIN_SECONDS,
      silencePeak: this.options.silencePeak ?? DEFAULT_SILENCE_PEAK,
    });
    if (reason !== undefined) return abstain(reason, ctx.threshold);

    const hopFrames = this.options.hopFrames ?? DEFAULT_HOP_FRAMES;
    const clip = await scoreClip(input.samples, this.requireSession(), this.variant, {
      hopFrames,
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
    if (clip.plan.padded) {
      notes.push(`clip shorter than ${WINDOW_FRAMES} frames (${WINDOW_FRAMES * FRAME_SHIFT} samples), its ${clip.plan.usableFrames} frames tiled`);
    }
    if (clip.plan.subsampled) {
      notes.push(`${clip.plan.regularCount} windows needed at hop ${hopFrames} frames; ${clip.windows.length} spread evenly instead`);
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

  private requireSession(): LfccLcnnSession {
    if (!this.session) throw new Error(`${this.card.name} is not loaded`);
    return this.session;
  }
}
