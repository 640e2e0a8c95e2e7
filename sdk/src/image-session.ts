// An image classifier graph with one input float32 [N, 3, S, S] ("image" unless named otherwise) and
// one output "logit" float32 [N, 1], the layout our image exports (NPR, UniversalFakeDetect, and the
// face models MesoNet and Cross-Efficient-ViT) share.
import * as ort from "onnxruntime-node";

export const IMAGE_INPUT = "image";
export const LOGIT_OUTPUT = "logit";

export interface ImageGraph {
  /** Side S of the square input. */
  size: number;
  /** For error messages, e.g. "NPR". */
  modelName: string;
  /** The input's name; default IMAGE_INPUT. */
  input?: string;
}

export class ImageLogitSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly graph: ImageGraph,
  ) {}

  /**
   * @param spinning whether ORT's intra-op threads spin between runs (its default). Spinning trims a
   * little latency on an idle machine but burns cores that decoding and other detectors need on a
   * shared one; $DEEPSAFE_ORT_SPINNING=0 turns it off.
   */
  static async create(
    modelPath: string,
    intraOpThreads: number,
    graph: ImageGraph,
    spinning = process.env.DEEPSAFE_ORT_SPINNING !== "0",
  ): Promise<ImageLogitSession> {
    const session = await ort.InferenceSession.create(modelPath, {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, Math.floor(intraOpThreads)),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      extra: { session: { intra_op: { allow_spinning: spinning ? "1" : "0" } } },
    });
    const input = graph.input ?? IMAGE_INPUT;
    if (!session.inputNames.includes(input) || !session.outputNames.includes(LOGIT_OUTPUT)) {
      await session.release();
      throw new Error(
        `${modelPath} is not a ${graph.modelName} export: inputs [${session.inputNames.join(", ")}], ` +
          `outputs [${session.outputNames.join(", ")}]; expected ${input} -> ${LOGIT_OUTPUT}`,
      );
    }
    return new ImageLogitSession(session, graph);
  }

  /** Logits for `batch` preprocessed images laid out back to back (NCHW). */
  async logits(tensor: Float32Array, batch = 1): Promise<Float32Array> {
    const { size } = this.graph;
    if (tensor.length !== batch * 3 * size * size) {
      throw new RangeError(`expected ${batch * 3 * size * size} floats for batch ${batch}, got ${tensor.length}`);
    }
    const input = new ort.Tensor("float32", tensor, [batch, 3, size, size]);
    const output = await this.session.run({ [this.graph.input ?? IMAGE_INPUT]: input });
    const logit = output[LOGIT_OUTPUT];
    if (!logit || logit.type !== "float32" || logit.size !== batch) {
      throw new Error(`unexpected ${LOGIT_OUTPUT} output: ${logit?.type} [${logit?.dims.join(", ")}]`);
    }
    return logit.data as Float32Array;
  }

  /** One run over several single-image tensors stacked into a batch; one logit per tensor. */
  async stackedLogits(tensors: readonly Float32Array[]): Promise<number[]> {
    const per = 3 * this.graph.size * this.graph.size;
    const stacked = new Float32Array(tensors.length * per);
    tensors.forEach((t, i) => {
      if (t.length !== per) throw new RangeError(`item ${i}: expected ${per} floats, got ${t.length}`);
      stacked.set(t, i * per);
    });
    return Array.from(await this.logits(stacked, tensors.length));
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
