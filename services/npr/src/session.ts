// The NPR graph: input "image" float32 [N, 3, 256, 256], output "logit" float32 [N, 1].
import { ImageLogitSession } from "@deepsafe/sdk";
import { INPUT_SIZE } from "./preprocess.js";

export { sigmoid } from "@deepsafe/sdk";
export const PLANE = INPUT_SIZE * INPUT_SIZE;

export type NprSession = ImageLogitSession;
export const NprSession = {
  create: (modelPath: string, intraOpThreads: number): Promise<NprSession> =>
    ImageLogitSession.create(modelPath, intraOpThreads, { size: INPUT_SIZE, modelName: "NPR" }),
};
