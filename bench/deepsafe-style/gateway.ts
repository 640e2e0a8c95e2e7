// Baseline for the benchmark: the original DeepSafe gateway's request path — read the whole JSON body,
// decode base64 to check it, re-encode and POST base64 JSON to each model service one after another.
import { createServer } from "node:http";

const models = (process.env.MODEL_URLS ?? "").split(",").filter(Boolean);

const server = createServer(async (req, res) => {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const started = performance.now();
  const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as { media_type: string; image_data: string; threshold?: number };
  const bytes = Buffer.from(body.image_data, "base64");
  const results: Record<string, unknown> = {};
  for (const url of models) {
    const reply = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ image_data: bytes.toString("base64"), threshold: body.threshold ?? 0.5 }),
    });
    results[url] = await reply.json();
  }
  res.writeHead(200, { "content-type": "application/json" }).end(
    JSON.stringify({ model_results: results, total_inference_time_seconds: (performance.now() - started) / 1000 }),
  );
});
server.listen(Number(process.env.PORT), "127.0.0.1", () => process.send?.("ready"));
