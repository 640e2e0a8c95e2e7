// UniversalFakeDetect image detector (Ojha, Li, Lee, CVPR 2023) served through the DeepSafe SDK.
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
import { INPUT_SIZE, PLANE, preprocessUfd } from "./preprocess.js";
import { sigmoid, UfdSession } from "./session.js";

export const PREPARE_HINT =
  "run `npm run prepare-model -w @deepsafe/ufd -- --backbone /path/to/ViT-L-14.pt` " +
  "(or put OpenAI's ViT-L-14.pt at $DEEPSAFE_WEIGHTS_MIRROR/clip/ViT-L-14.pt)";

export const ufdCard: ModelCard = {
  name: "ufd",
  version: "1.0.0",
  description:
    "UniversalFakeDetect: a linear probe on frozen CLIP ViT-L/14 image features (768-d projected CLS token), " +
    "trained on ProGAN real/fake images and reported to generalise to unseen GAN and diffusion generators. " +
    "Output: P(image is generated) = sigmoid(Linear(768, 1)(CLIP features)).",
  paper:
    "Ojha, Li, Lee. Towards Universal Fake Image Detectors that Generalize Across Generative Models. " +
    "CVPR 2023. arXiv:2302.10174",
  license:
    "DeepSafe port written from the paper and upstream code (WisconsinAIVision/UniversalFakeDetect, MIT; " +
    "openai/CLIP, MIT); weights: see provenance",
  defaultThreshold: 0.5,
  preprocessing:
    "decode to 8-bit RGB (alpha dropped, EXIF orientation applied), centre crop 224x224 at native resolution " +
    "(no resize; a side under 224 is zero-padded, torchvision CenterCrop rounding), ToTensor, CLIP mean " +
    "[0.48145466, 0.4578275, 0.40821073] / std [0.26862954, 0.26130258, 0.27577711]",
  tensors: [
    { name: "image", datatype: "FP32", shape: [-1, 3, INPUT_SIZE, INPUT_SIZE] },
    { name: "logit", datatype: "FP32", shape: [-1, 1] },
  ],
  mimeTypes: ["image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff", "image/avif"],
  maxBytes: 64 * 1024 * 1024,
  maxPixels: 40_000_000,
};

export class UfdModel extends ImageModel {
  override readonly card = ufdCard;
  private session: UfdSession | undefined;

  override async load(ctx: LoadContext): Promise<Provenance> {
    const modelPath = join(ctx.modelDir, "model.onnx");
    for (const file of [modelPath, join(ctx.modelDir, "provenance.json")]) {
      try {
        await access(file);
      } catch {
        throw new Error(`UFD weights not found: ${file} is missing; ${PREPARE_HINT}`);
      }
    }
    const provenance = await readProvenance(ctx.modelDir);
    this.session = await UfdSession.create(modelPath, ctx.intraOpThreads);
    return provenance;
  }

  override async warmup(): Promise<void> {
    await this.requireSession().logits(new Float32Array(3 * PLANE));
  }

  override async predict(image: DecodedImage, ctx: PredictContext): Promise<ModelResult> {
    const session = this.requireSession();
    const tensor = preprocessUfd(image);
    ctx.signal.throwIfAborted();
    const [logit] = await session.logits(tensor);
    if (logit === undefined || !Number.isFinite(logit)) throw new Error(`UFD produced a non-finite logit: ${logit}`);
    return makeResult(sigmoid(logit), ctx.threshold, { logit });
  }

  override async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }

  private requireSession(): UfdSession {
    if (!this.session) throw new Error("UFD model is not loaded");
    return this.session;
  }
}
