// Latency of one NPR inference: onnxruntime-node against PyTorch (same weights, same thread count),
// plus our preprocessing on typical and large inputs.
//   tsx scripts/latency.ts [--threads 1,2] [--runs 30] [--model-dir DIR]
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { preprocessNpr } from "../src/preprocess.js";
import { NprSession, PLANE } from "../src/session.js";
import { defaultModelDir, fixturesDir, runPython } from "./python.js";

const { values } = parseArgs({
  options: {
    threads: { type: "string", default: "1,2" },
    runs: { type: "string", default: "30" },
    "model-dir": { type: "string" },
  },
});
const runs = Number(values.runs);
let modelDir = values["model-dir"] ?? defaultModelDir();
if (!existsSync(join(modelDir, "model.onnx"))) {
  modelDir = join(fixturesDir, "model");
  runPython("export.py", ["--random-seed", "0", "--out-dir", modelDir]);
}
const provenance = JSON.parse(readFileSync(join(modelDir, "provenance.json"), "utf8")) as { kind: string };
const checkpoint =
  provenance.kind === "random-fixture"
    ? join(modelDir, "random-v1-seed0.pth")
    : process.env.NPR_CHECKPOINT ?? join(process.env.DEEPSAFE_WEIGHTS_MIRROR ?? "", "npr", "NPR.pth");

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeIt(fn: () => unknown | Promise<unknown>, n: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const rows: Record<string, unknown>[] = [];
for (const threads of values.threads!.split(",").map(Number)) {
  const session = await NprSession.create(join(modelDir, "model.onnx"), threads);
  const input = new Float32Array(3 * PLANE).map(() => Math.random() * 2 - 1);
  const ortMs = await timeIt(() => session.logits(input), runs);
  await session.release();
  const torch = JSON.parse(
    runPython("reference_logits.py", ["--checkpoint", checkpoint, "--bench", String(runs), "--threads", String(threads)]),
  ) as { bench: { medianMs: number; torch: string } };
  rows.push({ threads, ortMedianMs: +ortMs.toFixed(2), torchMedianMs: +torch.bench.medianMs.toFixed(2), torch: torch.bench.torch });
}
console.log(`NPR inference, batch 1, 256x256 (${provenance.kind} weights, ${runs} runs, median)`);
console.table(rows);

const pre: Record<string, unknown>[] = [];
for (const [w, h] of [[640, 480], [1024, 1024], [4000, 3000], [8000, 5000]] as const) {
  const image = { data: new Uint8Array(w * h * 3).map((_, i) => (i * 2654435761) >>> 24), width: w, height: h };
  pre.push({ size: `${w}x${h}`, preprocessMedianMs: +(await timeIt(() => preprocessNpr(image), w * h > 5e6 ? 5 : 20)).toFixed(2) });
}
console.log("Preprocessing (PIL-exact bilinear resize to 256x256 + normalize), single thread");
console.table(pre);
