// An ImageModel whose whole graph is one ImageLogitSession: P(fake) = sigmoid(logit). NPR and
// UniversalFakeDetect differ only in their card, graph size and preprocessing. With
// LoadContext.batching, concurrent predict() calls share one session run (DynamicBatcher).
import { access } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { DynamicBatcher } from "./batching.js";
import { ImageLogitSession, sigmoid, type ImageGraph } from "./image-session.js";
import type { DecodedImage } from "./decode/image.js";
import { ImageModel } from "./media.js";
import { makeResult, type LoadContext, type ModelResult, type PredictContext, type Provenance } from "./model.js";
import { readProvenance } from "./provenance.js";

export abstract class ImageLogitModel extends ImageModel {
  override readonly batchable = true;
  private session: ImageLogitSession | undefined;
  private batcher: DynamicBatcher<Float32Array, number> | undefined;

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
    const session = await ImageLogitSession.create(modelPath, ctx.intraOpThreads, this.graph);
    this.session = session;
    if (ctx.batching) {
      this.batcher = new DynamicBatcher((tensors) => session.stackedLogits(tensors), ctx.batching, ctx.observeBatch);
    }
    return provenance;
  }

  /**
   * The whole path once on a synthetic photo-sized JPEG (decode, preprocess, batch 1) and, when
   * batching, a full batch: cold, the first request's preprocessing alone is several times slower
   * (JIT) and ORT allocates per batch size.
   */
  override async warmup(): Promise<void> {
    const session = this.requireSession();
    const noise = { type: "gaussian" as const, mean: 128, sigma: 40 };
    const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: "#808080", noise } }).jpeg().toBuffer();
    const input = this.preprocess(await this.decode(jpeg));
    await session.logits(input);
    if (this.batcher) await session.stackedLogits(Array(this.batcher.options.maxBatchSize).fill(input));
  }

  override async predict(image: DecodedImage, ctx: PredictContext): Promise<ModelResult> {
    const session = this.requireSession();
    const tensor = this.preprocess(image);
    ctx.signal.throwIfAborted();
    const logit = this.batcher ? await this.batcher.submit(tensor, ctx.signal) : (await session.logits(tensor))[0];
    if (logit === undefined || !Number.isFinite(logit)) {
      throw new Error(`${this.graph.modelName} produced a non-finite logit: ${logit}`);
    }
    return makeResult(sigmoid(logit), ctx.threshold, { logit });
  }

  override async dispose(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.batcher = undefined;
    await session?.release();
  }

  private requireSession(): ImageLogitSession {
    if (!this.session) throw new Error(`${this.graph.modelName} model is not loaded`);
    return this.session;
  }
}
