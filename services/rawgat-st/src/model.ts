// RawGAT-ST audio anti-spoofing detector (Tak et al., ASVspoof 2021 workshop) on onnxruntime-node.
import { WaveformWindowModel, waveformWindowCard, type LoadContext, type ModelCard, type WaveformWindowOptions } from "@deepsafe/sdk";
import { createRawGatSession, readModelDir, UPSTREAM_COMMIT, UPSTREAM_REPO, VARIANTS, WINDOW_SAMPLES, type RawGatVariant } from "./onnx.js";

/** Window hop and cap, and when a clip abstains (see WaveformWindowOptions). */
export type RawGatOptions = WaveformWindowOptions;

const FUSION: Record<RawGatVariant, string> = {
  mul: "element-wise product",
  add: "element-wise sum",
  cat: "concatenation",
};

function cardFor(variant: RawGatVariant): ModelCard {
  return waveformWindowCard({
    name: VARIANTS[variant].modelName,
    version: UPSTREAM_COMMIT.slice(0, 7),
    description:
      `RawGAT-ST-${variant}: raw-waveform audio anti-spoofing with spectral and temporal graph attention, ` +
      `the two graphs fused by ${FUSION[variant]} (0.44M parameters); official ${UPSTREAM_REPO}@${UPSTREAM_COMMIT} ` +
      "weights trained on ASVspoof 2019 LA. Whole clips are scored in overlapping ~4 s windows.",
    paper:
      "H. Tak, J.-w. Jung, J. Patino, M. Kamble, M. Todisco, N. Evans, " +
      '"End-to-end spectro-temporal graph attention networks for speaker verification anti-spoofing and speech deepfake detection", ' +
      "Proc. ASVspoof 2021 Workshop, arXiv:2107.12710",
    license: "MIT (Copyright 2021 EURECOM Audio Security and Privacy Group)",
  }, WINDOW_SAMPLES);
}

export class RawGatStModel extends WaveformWindowModel {
  readonly card: ModelCard;

  constructor(
    readonly variant: RawGatVariant = "mul",
    options: RawGatOptions = {},
  ) {
    super(`RawGAT-ST-${variant}`, options, WINDOW_SAMPLES);
    this.card = cardFor(variant);
  }

  protected async open(ctx: LoadContext) {
    const { onnxPath, provenance } = await readModelDir(ctx.modelDir, this.variant);
    return { session: await createRawGatSession(onnxPath, ctx.intraOpThreads), provenance };
  }
}
