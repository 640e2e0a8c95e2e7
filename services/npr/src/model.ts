// NPR image detector (Tan et al., CVPR 2024) served through the DeepSafe SDK.
import { access } from "node:fs/promises";
import { join } from "node:path";
import {
  ImageModel,
  makeResult,
  readProvenance,
  type DecodedImage,
  type LoadContext,
  type ModelCard,
  type ModelResult,
  type PredictContext,
  type Provenance,
} from "@deepsafe/sdk";
import { INPUT_SIZE, preprocessNpr } from "./preprocess.js";
import { NprSession, PLANE, sigmoid } from "./session.js";

export const PREPARE_HINT = "run `npm run prepare-model -w @deepsafe/npr`";

export const nprCard: ModelCard = {
  name: "npr",
  version: "1.0.0",
  description:
    "NPR: neighbouring-pixel-relationship artefacts left by the up-sampling layers of GAN and diffusion " +
    "generators, scored by a truncated ResNet-50 (stem, layer1, layer2). Output: P(image is generated).",
  paper:
    "Tan, Liu, Zhao, Wei, Gu, Liu, Wei. Rethinking the Up-Sampling Operations in CNN-based Generative Network " +
    "for Generalizable Deepfake Detection. CVPR 2024. arXiv:2312.10461",
  license:
    "DeepSafe port written from the paper and upstream code (chuangchuangtan/NPR-DeepfakeDetection, which has " +
    "no license file); weights: see provenance",
  defaultThreshold: 0.5,
  preprocessing:
    'decode to 8-bit RGB (alpha dropped, EXIF orientation applied), resize to 256x256 exactly as PIL ' +
    "Image.resize BILINEAR (antialiased, aspect ratio not kept, no crop), ToTensor, ImageNet mean/std; " +
    "NPR residual x - up2(down2(x)) inside the graph",
  tensors: [
    { name: "image", datatype: "FP32", shape: [-1, 3, INPUT_SIZE, INPUT_SIZE] },
    { name: "logit", datatype: "FP32", shape: [-1, 1] },
  ],
  mimeTypes: ["image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/avif"],
  maxBytes: 64 * 1024 * 1024,
  maxPixels: 40_000_000,
};

export class NprModel extends ImageModel {
  override readonly card = nprCard;
  private session: NprSession | undefined;

  override async load(ctx: LoadContext): Promise<Provenance> {
    const modelPath = join(ctx.modelDir, "model.onnx");
    for (const file of [modelPath, join(ctx.modelDir, "provenance.json")]) {
      try {
        await access(file);
      } catch {
        throw new Error(`NPR weights not found: ${file} is missing; ${PREPARE_HINT}`);
      }
    }
    const provenance = await readProvenance(ctx.modelDir);
    this.session = await NprSession.create(modelPath, ctx.intraOpThreads);
    return provenance;
  }

  override async warmup(): Promise<void> {
    await this.requireSession().logits(new Float32Array(3 * PLANE));
  }

  override async predict(image: DecodedImage, ctx: PredictContext): Promise<ModelResult> {
    const session = this.requireSession();
    const tensor = preprocessNpr(image);
    ctx.signal.throwIfAborted();
    const [logit] = await session.logits(tensor);
    if (logit === undefined || !Number.isFinite(logit)) throw new Error(`NPR produced a non-finite logit: ${logit}`);
    return makeResult(sigmoid(logit), ctx.threshold, { logit });
  }

  override async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }

  private requireSession(): NprSession {
    if (!this.session) throw new Error("NPR model is not loaded");
    return this.session;
  }
}
