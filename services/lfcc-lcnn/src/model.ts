// LFCC-LCNN audio anti-spoofing detector (Wang & Yamagishi, NII; ASVspoof 2019 LA) on onnxruntime-node.
import {
  AUDIO_MIME_TYPES,
  WindowedAudioModel,
  type ClipRequest,
  type DecodedAudio,
  type LoadContext,
  type ModelCard,
  type WindowedAudioOptions,
} from "@deepsafe/sdk";
import { createLfccLcnnSession, readModelDir, UPSTREAM_COMMIT, UPSTREAM_REPO, VARIANTS, type LfccLcnnSession } from "./onnx.js";
import { DEFAULT_HOP_FRAMES, FEATURE_DIM, FRAME_SHIFT, SAMPLE_RATE, WINDOW_FRAMES, unscorableReason, type Variant } from "./plan.js";
import { scoreClip, type ClipScore } from "./score.js";

export interface LfccLcnnOptions extends WindowedAudioOptions {
  /** Frames between window starts (default 375 = 3.75 s, 50 % overlap). */
  hopFrames?: number;
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
    mimeTypes: [...AUDIO_MIME_TYPES],
  };
}

export class LfccLcnnModel extends WindowedAudioModel<LfccLcnnSession, ClipScore> {
  readonly card: ModelCard;
  private readonly hopFrames: number;

  constructor(
    readonly variant: Variant = "sigmoid",
    options: LfccLcnnOptions = {},
  ) {
    super("LFCC-LCNN", options, 2 * SAMPLE_RATE);
    this.card = cardFor(variant);
    this.hopFrames = options.hopFrames ?? DEFAULT_HOP_FRAMES;
  }

  protected async open(ctx: LoadContext) {
    const { onnxPath, frontendPath, provenance } = await readModelDir(ctx.modelDir, this.variant);
    return { session: await createLfccLcnnSession({ onnxPath, frontendPath }, this.variant, ctx.intraOpThreads), provenance };
  }

  /** At least one frame shift of audio, whatever minSeconds says (src/plan.ts). */
  protected override unscorable(input: DecodedAudio): string | undefined {
    return unscorableReason(input.samples, input.sampleRate, this.options);
  }

  protected score(samples: Float32Array, session: LfccLcnnSession, request: ClipRequest): Promise<ClipScore> {
    return scoreClip(samples, session, this.variant, { ...request, hopFrames: this.hopFrames });
  }

  protected windowNotes(clip: ClipScore) {
    return {
      padded: `clip shorter than ${WINDOW_FRAMES} frames (${WINDOW_FRAMES * FRAME_SHIFT} samples), its ${clip.plan.usableFrames} frames tiled`,
      hop: `${this.hopFrames} frames`,
    };
  }
}
