// MesoNet image detector (Afchar, Nozick, Yamagishi, Echizen, WIFS 2018): every face the SDK's YuNet detector
// finds is cropped as the authors' pipeline does and scored by Meso4 / MesoInception4; the image score is the
// highest face score. No face: the model abstains.
import {
  ImageModel,
  abstain,
  makeResult,
  type DecodedImage,
  type LoadContext,
  type ModelCard,
  type ModelResult,
  type PredictContext,
  type Provenance,
  type Segment,
} from "@deepsafe/sdk";
import { FACE_SIZE } from "./align.js";
import { DEFAULT_WEIGHTS, sigmoid, UPSTREAM_COMMIT, WEIGHTS, type MesoWeights } from "./onnx.js";
import { clippedBox, DEFAULT_MIN_CROP_SIDE, MesoFaceScorer, noFaceReason, selectFaces, type MesoOptions } from "./scorer.js";

export const PAPER =
  'D. Afchar, V. Nozick, J. Yamagishi, I. Echizen, "MesoNet: a Compact Facial Video Forgery Detection Network", ' +
  "IEEE WIFS 2018, arXiv:1809.00888";
export const LICENSE = "Apache-2.0 (weights and architecture: DariusAf/MesoNet, see its NOTICE); DeepSafe port";
export const CROP_DESCRIPTION =
  "faces by YuNet (SDK face detector); per face the authors' crop from 5 landmarks: square of side " +
  "1.3·2.2·max(eye–eye, eyes–mouth) centred on the nose tip, rotated upright, bilinear (box-antialiased when " +
  "shrinking) to 256×256 RGB, /255; graph output = logit of P(fake) (the Keras sigmoid is P(real))";

export function describeWeights(weights: MesoWeights): string {
  return `${weights}: ${WEIGHTS[weights].architecture} trained on ${WEIGHTS[weights].trainedOn}`;
}

export function imageCard(weights: MesoWeights): ModelCard {
  return {
    name: "mesonet",
    version: `${weights}@${UPSTREAM_COMMIT.slice(0, 7)}`,
    description:
      `MesoNet face-forgery detector (${describeWeights(weights)}; official DariusAf/MesoNet weights). Scores every ` +
      "detected face (up to 8) and reports the highest face score; abstains when no face is found. Trained on " +
      "face swaps / reenactment in video frames: scores on other kinds of images are not meaningful.",
    paper: PAPER,
    license: LICENSE,
    defaultThreshold: 0.5,
    preprocessing: `${CROP_DESCRIPTION}; image score = max over faces`,
    tensors: [
      { name: "face", datatype: "FP32", shape: [-1, 3, FACE_SIZE, FACE_SIZE] },
      { name: "logit", datatype: "FP32", shape: [-1, 1] },
    ],
    mimeTypes: ["image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/avif", "image/bmp", "image/heic"],
    maxBytes: 64 * 1024 * 1024,
    maxPixels: 40_000_000,
  };
}

export class MesoNetModel extends ImageModel {
  readonly card: ModelCard;
  private scorer: MesoFaceScorer | undefined;

  constructor(
    readonly weights: MesoWeights = DEFAULT_WEIGHTS,
    private readonly options: MesoOptions = {},
  ) {
    super();
    this.card = imageCard(weights);
  }

  async load(ctx: LoadContext): Promise<Provenance> {
    const scorer = await MesoFaceScorer.open(ctx.modelDir, this.weights, ctx.intraOpThreads, this.options);
    await this.scorer?.release();
    this.scorer = scorer;
    return scorer.provenance;
  }

  override async warmup(): Promise<void> {
    await this.requireScorer().warmup();
  }

  async predict(image: DecodedImage, ctx: PredictContext): Promise<ModelResult> {
    const scorer = this.requireScorer();
    const minSide = this.options.minCropSide ?? DEFAULT_MIN_CROP_SIDE;
    const detections = await scorer.detector.detect(image);
    ctx.signal.throwIfAborted();
    const sel = selectFaces(detections, minSide, this.options.maxFaces ?? 8, scorer.cropScale);
    if (sel.candidates.length === 0) return abstain(noFaceReason(sel, "in the image", minSide), ctx.threshold);

    const logits = await scorer.scoreCrops(scorer.crops(image, sel.candidates), ctx.signal);
    const segments: Segment[] = sel.candidates.map((c, i) => ({
      kind: "region",
      index: i,
      probabilityFake: sigmoid(logits[i]!),
      box: clippedBox(c.face.box, image.width, image.height),
    }));
    // The image is as suspicious as its most suspicious face: a manipulated image usually has one swapped or
    // reenacted face among real ones, which a mean would dilute.
    let top = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[top]!) top = i;
    const notes = [
      `${sel.candidates.length} face${sel.candidates.length === 1 ? "" : "s"} scored (${this.weights}); image score = highest face (face ${top})`,
    ];
    if (sel.dropped) notes.push(`${sel.dropped} more face(s) not scored (limit ${this.options.maxFaces ?? 8})`);
    if (sel.tooSmall) notes.push(`${sel.tooSmall} face(s) too small to score (crop under ${minSide} px)`);
    return makeResult(sigmoid(logits[top]!), ctx.threshold, { logit: logits[top]!, segments, note: notes.join("; ") });
  }

  override async dispose(): Promise<void> {
    const scorer = this.scorer;
    this.scorer = undefined;
    await scorer?.release();
  }

  private requireScorer(): MesoFaceScorer {
    if (!this.scorer) throw new Error("MesoNet is not loaded");
    return this.scorer;
  }
}
