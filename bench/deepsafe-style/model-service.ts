// Baseline for the benchmark: the original DeepSafe's per-model service shape — an HTTP server that
// takes {image_data: base64} JSON, decodes it, and runs the model in-process. MODEL=npr runs the same
// NPR model and SDK decoding as our detector; MODEL=sink answers at once (transport alone).
import { createServer } from "node:http";
import { availableParallelism } from "node:os";
import { modelDir } from "@deepsafe/sdk";
import { NprModel } from "../../services/npr/src/model.js";

const sink = process.env.MODEL === "sink";
const model = new NprModel();
if (!sink) {
  await model.load({ modelDir: modelDir("npr"), intraOpThreads: availableParallelism() });
  await model.warmup();
}

const server = createServer(async (req, res) => {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  try {
    const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as { image_data: string; threshold?: number };
    const bytes = Buffer.from(body.image_data, "base64");
    if (sink) return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ model: "sink", probability: 0.25, bytes: bytes.length }));
    const started = performance.now();
    const controller = new AbortController();
    const ctx = { requestId: "", threshold: body.threshold ?? 0.5, options: {}, mimeType: "", fileName: "", signal: controller.signal };
    const result = await model.predict(await model.decode(bytes), ctx);
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({ model: "npr", probability: result.probabilityFake, class: result.prediction === 2 ? "fake" : "real", inference_time: (performance.now() - started) / 1000 }),
    );
  } catch (err) {
    res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: (err as Error).message }));
  }
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.send?.("ready"));
