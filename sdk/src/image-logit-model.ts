// An ImageModel whose whole graph is one ImageLogitSession: P(fake) = sigmoid(logit). NPR and
// UniversalFakeDetect differ only in their card, graph size and preprocessing.
import { access } from "node:fs/promises";
import { join } from "node:path";
import { ImageLogitSession, sigmoid, type ImageGraph } from "./image-session.js";
import type { DecodedImage } from "./decode/image.js";
import { ImageModel } from "./media.js";
import { makeResult, type LoadContext, type ModelResult, type PredictContext, type Provenance } from "./model.js";
import { readProvenance } from "./provenance.js";

export abstract class ImageLogitModel extends ImageModel {
  private session: ImageLogitSession | undefined;

  /** @param prepareHint how to produce the model folder, shown when it is missing. */
  constructor(
    private readonly graph: ImageGraph,
    private readonly prepareHint: string,
  ) {
    super();
  }

  /** The graph's NCHW float input for one decoded image. */
  abstract preprocess(image: DecodedImage): Float32Array;

  override async load(ctx: LoadContext): Promise<Provenance> {
    const modelPath = join(ctx.modelDir, "model.onnx");
    for (const file of [modelPath, join(ctx.modelDir, "provenance.json")]) {
      try {
        await access(file);
      } catch {
        throw new Error(`${this.graph.modelName} weights not found: ${file} is missing; ${this.prepareHint}`);
      }
    }
    const provenance = await readProvenance(ctx.modelDir);
    this.session = await ImageLogitSession.create(modelPath, ctx.intraOpThreads, this.graph);
    return provenance;
  }

  override async warmup(): Promise<void> {
    await this.requireSession().logits(new Float32Array(3 * this.graph.size * this.graph.size));
  }

  override async predict(image: DecodedImage, ctx: PredictContext): Promise<ModelResult> {
    const session = this.requireSession();
    const tensor = this.preprocess(image);
    ctx.signal.throwIfAborted();
    const [logit] = await session.logits(tensor);
    if (logit === undefined || !Number.isFinite(logit)) {
      throw new Error(`${this.graph.modelName} produced a non-finite logit: ${logit}`);
    }
    return makeResult(sigmoid(logit), ctx.threshold, { logit });
  }

  override async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }

  private requireSession(): ImageLogitSession {
    if (!this.session) throw new Error(`${this.graph.modelName} model is not loaded`);
    return this.session;
  }
}
