// A detector that does no inference: it receives the whole upload through the SDK (same streaming,
// limits and reassembly as every detector) and answers at once. The benchmark uses it to measure
// transport alone.
import { DetectorModel, makeResult, serveDetector, type PredictContext, type Provenance } from "@deepsafe/sdk";

class SinkModel extends DetectorModel<number> {
  readonly media = "image" as const;
  readonly card = {
    name: "sink",
    version: "1",
    description: "benchmark: receives the upload, no inference",
    paper: "none",
    license: "MIT",
    defaultThreshold: 0.5,
    preprocessing: "none",
    tensors: [],
  };
  async load(): Promise<Provenance> {
    return { kind: "random-fixture", source: "bench/sink-detector.ts" };
  }
  async decode(bytes: Buffer): Promise<number> {
    return bytes.length;
  }
  async predict(_size: number, ctx: PredictContext) {
    return makeResult(0.25, ctx.threshold);
  }
}

await serveDetector(new SinkModel(), { port: Number(process.env.PORT), metricsPort: -1 });
process.send?.("ready");
