// AASIST / AASIST-L audio anti-spoofing detector (Jung et al., ICASSP 2022) on onnxruntime-node.
import { WaveformWindowModel, waveformWindowCard, type LoadContext, type ModelCard, type WaveformWindowOptions } from "@deepsafe/sdk";
import { createAasistSession, readModelDir, UPSTREAM_COMMIT, UPSTREAM_REPO, VARIANTS, WINDOW_SAMPLES, type AasistVariant } from "./onnx.js";

/** Window hop and cap, and when a clip abstains (see WaveformWindowOptions). */
export type AasistOptions = WaveformWindowOptions;

function cardFor(variant: AasistVariant): ModelCard {
  const light = variant === "AASIST-L";
  return waveformWindowCard({
    name: VARIANTS[variant].modelName,
    version: UPSTREAM_COMMIT.slice(0, 7),
    description:
      `${variant}: audio anti-spoofing with integrated spectro-temporal graph attention` +
      `${light ? " (lightweight, 85k parameters)" : " (297k parameters)"}, official ${UPSTREAM_REPO}@${UPSTREAM_COMMIT} weights ` +
      "trained on ASVspoof 2019 LA. Whole clips are scored in overlapping ~4 s windows.",
    paper:
      "J.-w. Jung, H.-S. Heo, H. Tak, H.-j. Shim, J. S. Chung, B.-J. Lee, H.-J. Yu, N. Evans, " +
      '"AASIST: Audio Anti-Spoofing using Integrated Spectro-Temporal Graph Attention Networks", ICASSP 2022, arXiv:2110.01200',
    license: "MIT (Copyright NAVER Corp.)",
  }, WINDOW_SAMPLES);
}

export class AasistModel extends WaveformWindowModel {
  readonly card: ModelCard;

  constructor(
    readonly variant: AasistVariant = "AASIST",
    options: AasistOptions = {},
  ) {
    super(variant, options, WINDOW_SAMPLES);
    this.card = cardFor(variant);
  }

  protected async open(ctx: LoadContext) {
    const { onnxPath, provenance } = await readModelDir(ctx.modelDir, this.variant);
    return { session: await createAasistSession(onnxPath, ctx.intraOpThreads), provenance };
  }
}
