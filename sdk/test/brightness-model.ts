// A tiny but real ImageModel for SDK tests: P(fake) = mean brightness. Options: delay_ms.
import { setTimeout as sleep } from "node:timers/promises";
import { ImageModel, makeResult, type DecodedImage, type PredictContext, type Provenance } from "../src/index.js";

export class BrightnessModel extends ImageModel {
  readonly card = {
    name: "brightness",
    version: "1",
    description: "SDK test model: mean pixel brightness",
    paper: "none",
    license: "MIT",
    defaultThreshold: 0.5,
    preprocessing: "none",
    tensors: [],
    maxBytes: 1024 * 1024,
    maxPixels: 4096 * 4096,
  };
  loadDelayMs = 0;
  loads = 0;

  async load(): Promise<Provenance> {
    this.loads++;
    await sleep(this.loadDelayMs);
    return { kind: "random-fixture", source: "sdk/test/brightness-model.ts" };
  }

  async predict(image: DecodedImage, ctx: PredictContext) {
    const delay = Number(ctx.options.delay_ms ?? 0);
    if (delay) await sleep(delay, undefined, { signal: ctx.signal }).catch(() => undefined);
    let sum = 0;
    for (const v of image.data) sum += v;
    return makeResult(sum / image.data.length / 255, ctx.threshold);
  }
}
