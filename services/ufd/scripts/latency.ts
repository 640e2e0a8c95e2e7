// Latency of one UFD inference: onnxruntime-node against PyTorch (same weights, same thread count),
// plus ONNX session load time and our preprocessing.
//   tsx scripts/latency.ts [--blocks 2] [--threads 1,2] [--runs 10] [--torch-runs N] [--plain-blas]
//                          [--model-dir DIR --backbone PT --head PTH]
// --blocks N measures a random-backbone fixture with N of ViT-L/14's 24 blocks (exported on demand
// under .deepsafe/fixtures/ufd/bench-N; --blocks 24 writes a 1.2 GB graph there — delete it after):
// compute does not depend on the weights' values, so 24 blocks times the real ViT-L/14.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { preprocessUfd, PLANE } from "../src/preprocess.js";
import { UfdSession } from "../src/session.js";
import { fixturesDir, mirroredHead, runPython } from "./python.js";

const { values } = parseArgs({
  options: {
    blocks: { type: "string", default: "2" },
    threads: { type: "string", default: "1,2" },
    runs: { type: "string", default: "10" },
    "torch-runs": { type: "string" },
    "model-dir": { type: "string" },
    backbone: { type: "string" },
    head: { type: "string" },
    "plain-blas": { type: "boolean", default: false },
  },
});
const runs = Number(values.runs);
const torchRuns = Number(values["torch-runs"] ?? values.runs);
let modelDir = values["model-dir"];
let backbone = values.backbone;
let head = values.head ?? mirroredHead();
if (!modelDir) {
  const blocks = Number(values.blocks);
  modelDir = join(fixturesDir, `bench-${blocks}`);
  if (!head) {
    head = join(fixturesDir, "random-head-seed0.pth");
    if (!existsSync(head)) runPython("make_random_clip.py", ["--head-only", head, "--seed", "0"]);
  }
  const t0 = performance.now();
  runPython("export.py", ["--random-backbone-layers", String(blocks), "--random-seed", "0", "--head", head, "--out-dir", modelDir]);
  console.log(`fixture ready in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${modelDir}`);
  backbone = join(modelDir, `random-clip-vitl14-${blocks}blocks-seed0.pt`);
}
if (!backbone || !head) throw new Error("--model-dir needs --backbone and --head for the PyTorch side");
const provenance = JSON.parse(readFileSync(join(modelDir, "provenance.json"), "utf8")) as { kind: string; backbone?: { blocks?: number } };
const onnxBytes = statSync(join(modelDir, "model.onnx")).size;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeIt(fn: () => unknown | Promise<unknown>, n: number, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
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
  const t0 = performance.now();
  const session = await UfdSession.create(join(modelDir, "model.onnx"), threads);
  const loadMs = performance.now() - t0;
  const input = new Float32Array(3 * PLANE).map(() => Math.random() * 2 - 1);
  const ortMs = await timeIt(() => session.logits(input), runs);
  await session.release();
  const torch = JSON.parse(
    runPython("reference_logits.py", [
      "--backbone", backbone, "--head", head, "--bench", String(torchRuns), "--threads", String(threads),
      ...(values["plain-blas"] ? ["--plain-blas"] : []),
    ]),
  ) as { bench: { medianMs: number; torch: string; linear: string } };
  rows.push({
    threads,
    ortLoadMs: Math.round(loadMs),
    ortMedianMs: +ortMs.toFixed(1),
    torchMedianMs: +torch.bench.medianMs.toFixed(1),
    torchLinear: torch.bench.linear,
  });
}
console.log(
  `UFD inference, batch 1, 224x224 (${provenance.kind}, ${provenance.backbone?.blocks ?? "?"} blocks, ` +
    `${(onnxBytes / 1e6).toFixed(0)} MB graph, ${runs} ORT / ${torchRuns} torch runs, median)`,
);
console.table(rows);

const pre: Record<string, unknown>[] = [];
for (const [w, h] of [[150, 100], [640, 480], [4000, 3000]] as const) {
  const image = { data: new Uint8Array(w * h * 3).map((_, i) => (i * 2654435761) >>> 24), width: w, height: h };
  pre.push({ size: `${w}x${h}`, preprocessMedianMs: +(await timeIt(() => preprocessUfd(image), 50, 5)).toFixed(3) });
}
console.log("Preprocessing (centre crop 224 + CLIP normalisation), single thread");
console.table(pre);
