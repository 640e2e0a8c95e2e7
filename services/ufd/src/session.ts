// The UFD ONNX graph (CLIP ViT-L/14 image encoder + Linear(768, 1) in one graph) run with
// onnxruntime-node: input "image" float32 [N, 3, 224, 224], output "logit" float32 [N, 1].
// Independent of the SDK so tests and tools can use it directly.
import * as ort from "onnxruntime-node";
import { INPUT_SIZE, PLANE } from "./preprocess.js";

export const INPUT_NAME = "image";
export const OUTPUT_NAME = "logit";

export class UfdSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(modelPath: string, intraOpThreads: number): Promise<UfdSession> {
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, Math.floor(intraOpThreads)),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    if (!session.inputNames.includes(INPUT_NAME) || !session.outputNames.includes(OUTPUT_NAME)) {
      await session.release();
      throw new Error(
        `${modelPath} is not a UFD export: inputs [${session.inputNames.join(", ")}], ` +
          `outputs [${session.outputNames.join(", ")}]; expected ${INPUT_NAME} -> ${OUTPUT_NAME}`,
      );
    }
    return new UfdSession(session);
  }

  /** Logits for `batch` preprocessed images laid out back to back (NCHW). */
  async logits(tensor: Float32Array, batch = 1): Promise<Float32Array> {
    if (tensor.length !== batch * 3 * PLANE) {
      throw new RangeError(`expected ${batch * 3 * PLANE} floats for batch ${batch}, got ${tensor.length}`);
    }
    const input = new ort.Tensor("float32", tensor, [batch, 3, INPUT_SIZE, INPUT_SIZE]);
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
