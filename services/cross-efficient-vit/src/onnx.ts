// The Cross-Efficient-ViT ONNX graph on onnxruntime-node (exported by python/export.py):
//   input  "faces" float32 [N, 3, 224, 224]: face crops, BGR, 0..255, no normalisation (CHW)
//   output "logit" float32 [N, 1]: sigmoid(logit) = P(face is fake)
import { access } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { readProvenance, type Provenance } from "@deepsafe/sdk";

export const FACE_SIZE = 224;
export const FACE_FLOATS = 3 * FACE_SIZE * FACE_SIZE;
export const INPUT_NAME = "faces";
export const OUTPUT_NAME = "logit";
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

export class CevSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(onnxPath: string, intraOpThreads: number): Promise<CevSession> {
    const session = await ort.InferenceSession.create(onnxPath, {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, Math.floor(intraOpThreads)),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    if (!session.inputNames.includes(INPUT_NAME) || !session.outputNames.includes(OUTPUT_NAME)) {
      await session.release();
      throw new Error(
        `${onnxPath} is not a Cross-Efficient-ViT export: inputs [${session.inputNames.join(", ")}], ` +
          `outputs [${session.outputNames.join(", ")}]; expected ${INPUT_NAME} -> ${OUTPUT_NAME}`,
      );
    }
    return new CevSession(session);
  }

  /** Logits for `batch` face tensors laid out back to back (NCHW). */
  async logits(tensor: Float32Array, batch = 1): Promise<Float32Array> {
    if (!(Number.isInteger(batch) && batch >= 1) || tensor.length !== batch * FACE_FLOATS) {
      throw new RangeError(`expected ${batch * FACE_FLOATS} floats for batch ${batch}, got ${tensor.length}`);
    }
    const input = new ort.Tensor("float32", tensor, [batch, 3, FACE_SIZE, FACE_SIZE]);
    const output = await this.session.run({ [INPUT_NAME]: input });
    const logit = output[OUTPUT_NAME];
    if (!logit || logit.type !== "float32" || logit.size !== batch) {
      throw new Error(`unexpected ${OUTPUT_NAME} output: ${logit?.type} [${logit?.dims.join(", ")}]`);
    }
    return logit.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Numerically stable logistic function. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(p / (1 - p)), undefined at 0 and 1. */
export function logOdds(p: number): number | undefined {
  return p > 0 && p < 1 ? Math.log(p / (1 - p)) : undefined;
}
