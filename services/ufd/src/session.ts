// The UFD graph (CLIP ViT-L/14 image encoder + Linear(768, 1) in one graph): input "image" float32
// [N, 3, 224, 224], output "logit" float32 [N, 1].
import { ImageLogitSession } from "@deepsafe/sdk";
import { INPUT_SIZE } from "./preprocess.js";

export { sigmoid } from "@deepsafe/sdk";

export type UfdSession = ImageLogitSession;
export const UfdSession = {
  create: (modelPath: string, intraOpThreads: number): Promise<UfdSession> =>
    ImageLogitSession.create(modelPath, intraOpThreads, { size: INPUT_SIZE, modelName: "UFD" }),
};
