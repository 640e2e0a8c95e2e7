// NPR image detector (Tan et al., CVPR 2024) served through the DeepSafe SDK.
import { ImageLogitModel, type DecodedImage, type ModelCard } from "@deepsafe/sdk";
import { INPUT_SIZE, preprocessNpr } from "./preprocess.js";

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

export class NprModel extends ImageLogitModel {
  override readonly card = nprCard;

  constructor() {
    super({ size: INPUT_SIZE, modelName: "NPR" }, PREPARE_HINT);
  }

  override preprocess(image: DecodedImage): Float32Array {
    return preprocessNpr(image);
  }
}
