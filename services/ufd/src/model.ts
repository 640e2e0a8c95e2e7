// UniversalFakeDetect image detector (Ojha, Li, Lee, CVPR 2023) served through the DeepSafe SDK.
import { ImageLogitModel, type DecodedImage, type ModelCard } from "@deepsafe/sdk";
import { INPUT_SIZE, preprocessUfd } from "./preprocess.js";

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

export class UfdModel extends ImageLogitModel {
  override readonly card = ufdCard;

  constructor() {
    super({ size: INPUT_SIZE, modelName: "UFD" }, PREPARE_HINT);
  }

  override preprocess(image: DecodedImage): Float32Array {
    return preprocessUfd(image);
  }
}
