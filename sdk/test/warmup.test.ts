// serveDetector's start-up options: warm-up before SERVING (on by default, `warmup: false` or
// DEEPSAFE_WARMUP=0 skips it, for measuring what it saves), and batching asked of a model that
// cannot batch (ignored; the model is loaded without it and serves as usual).
import { test } from "uvu";
import * as assert from "uvu/assert";
import sharp from "sharp";
import { createDetectorClient, predictBytes, serveDetector, type LoadContext, type Provenance } from "../src/index.js";
import { BrightnessModel } from "./brightness-model.js";

class CountingModel extends BrightnessModel {
  warmups = 0;
  loadContexts: LoadContext[] = [];
  /** Records the context the server passes (BrightnessModel.load() ignores it). */
  override async load(ctx?: LoadContext): Promise<Provenance> {
    if (ctx) this.loadContexts.push(ctx);
    return super.load();
  }
  override async warmup(): Promise<void> {
    this.warmups++;
  }
}

async function serveAndPredict(model: CountingModel, options: Parameters<typeof serveDetector>[1]): Promise<number> {
  const handle = await serveDetector(model, { port: 0, metricsPort: -1, handleSignals: false, ...options });
  const client = createDetectorClient(`127.0.0.1:${handle.port}`);
  try {
    const bytes = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 51, g: 51, b: 51 } } }).png().toBuffer();
    return (await predictBytes(client, { header: {}, bytes })).probabilityFake;
  } finally {
    client.close();
    await handle.drain();
  }
}

test("the model is warmed up once before it serves, unless warm-up is turned off", async () => {
  const warmed = new CountingModel();
  await serveAndPredict(warmed, {});
  assert.is(warmed.warmups, 1);
  const cold = new CountingModel();
  await serveAndPredict(cold, { warmup: false });
  assert.is(cold.warmups, 0);
});

test("batching asked of a model that cannot batch is ignored; the model serves as usual", async () => {
  const model = new CountingModel();
  const p = await serveAndPredict(model, { batching: { maxBatchSize: 8, maxQueueDelayMs: 5 } });
  assert.ok(Math.abs(p - 0.2) < 1e-9, `brightness ${p}`);
  assert.is(model.batchable, false);
  assert.is(model.loadContexts[0]!.batching, undefined, "a non-batchable model is loaded without batching");
});

test.run();
