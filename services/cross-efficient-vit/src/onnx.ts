// The Cross-Efficient-ViT ONNX graph (exported by python/export.py), run by the SDK's ImageLogitSession:
//   input  "faces" float32 [N, 3, 224, 224]: face crops, BGR, 0..255, no normalisation (CHW)
//   output "logit" float32 [N, 1]: sigmoid(logit) = P(face is fake)
import { access } from "node:fs/promises";
import { join } from "node:path";
import { ImageLogitSession, readProvenance, type Provenance } from "@deepsafe/sdk";

export { sigmoid } from "@deepsafe/sdk";

export const FACE_SIZE = 224;
export const FACE_FLOATS = 3 * FACE_SIZE * FACE_SIZE;
/** The graph's input name (its output is the SDK's LOGIT_OUTPUT, "logit"). */
export const INPUT_NAME = "faces";
export const PREPARE_HINT =
  "run `npm run prepare-model -w @deepsafe/cross-efficient-vit` (official weights: put cross_efficient_vit.pth at " +
  "$DEEPSAFE_WEIGHTS_MIRROR/cross_efficient_vit/cross_efficient_vit.pth; tests: `-- --random-fixture`)";

/** model.onnx + provenance.json of a converted model directory (the provenance checks the graph's sha256). */
export async function readModelDir(dir: string): Promise<{ onnxPath: string; provenance: Provenance }> {
  const onnxPath = join(dir, "model.onnx");
  for (const file of [onnxPath, join(dir, "provenance.json")]) {
    try {
      await access(file);
    } catch {
      throw new Error(`Cross-Efficient-ViT weights not found: ${file} is missing; ${PREPARE_HINT}`);
    }
  }
  return { onnxPath, provenance: await readProvenance(dir) };
}

/** The graph in onnxruntime-node: logits(tensor, batch) for face tensors laid out back to back (NCHW). */
export type CevSession = ImageLogitSession;

export function openCevSession(onnxPath: string, intraOpThreads: number): Promise<CevSession> {
  return ImageLogitSession.create(onnxPath, intraOpThreads, { size: FACE_SIZE, modelName: "Cross-Efficient-ViT", input: INPUT_NAME });
}

/** log(p / (1 - p)), undefined at 0 and 1. */
export function logOdds(p: number): number | undefined {
  return p > 0 && p < 1 ? Math.log(p / (1 - p)) : undefined;
}
