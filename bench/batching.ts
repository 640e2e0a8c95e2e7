// `npm run bench:batching`: does dynamic batching pay on NPR here? Ratios measured in one run.
//  1. inference only, in process: ORT's cost per image at batch 1/2/4/8 (sequential runs), then
//     one session, unbatched calls one at a time (what the server does by default) vs the SDK's
//     DynamicBatcher, at concurrency 1/4/8; each also with ORT's intra-op spinning off (`-nospin`)
//  2. end to end over gRPC: NPR detector processes fed real JPEGs by closed-loop clients —
//     `default` (no batching, one inference at a time), `concurrent` (no batching, 8 inferences at
//     once on one session), `batched` (DEEPSAFE_BATCH_MAX_SIZE etc.), and `default-nospin` /
//     `batched-nospin` (DEEPSAFE_ORT_SPINNING=0), at concurrency 1/4/8
//  3. warm-up: first-request latency of a freshly started NPR process with and without warm-up
// Cells run interleaved, --rounds times; each figure is the median over rounds, ratios are medians of
// per-round ratios. Writes bench/results/batching.json.
//   tsx bench/batching.ts [--seconds 6] [--rounds 2] [--concurrency 1,4,8] [--batch 8] [--delay-ms 5] [--threads N]
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type * as grpc from "@grpc/grpc-js";
import { DynamicBatcher, ImageLogitSession, InferenceLimiter, createDetectorClient, decodeImage, modelDir, predictBytes } from "@deepsafe/sdk";
import { freePort, loadRegistry, repoRoot } from "../deploy/local/mesh.js";
import { prepareModels } from "../deploy/local/prepare-models.js";
import { INPUT_SIZE, preprocessNpr } from "../services/npr/src/preprocess.js";
import { type LoopResult, closedLoop, median } from "./closed-loop.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "6" },
    rounds: { type: "string", default: "2" },
    concurrency: { type: "string", default: "1,4,8" },
    batch: { type: "string", default: "8" },
    "delay-ms": { type: "string", default: "5" },
    threads: { type: "string", default: String(availableParallelism()) },
    "warmup-starts": { type: "string", default: "3" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const levels = values.concurrency.split(",").map(Number);
const maxBatchSize = Number(values.batch);
const maxQueueDelayMs = Number(values["delay-ms"]);
const threads = Number(values.threads);
const warmupStarts = Number(values["warmup-starts"]);

/** Eight different 1280x720 JPEGs (moving test pattern with grain), about 150-250 KB each. */
function makeImages(): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), "deepsafe-batching-"));
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
    "-i", "testsrc2=size=1280x720:rate=5,noise=alls=20:allf=t", "-frames:v", "8", "-q:v", "3", join(dir, "frame%d.jpg")]);
  return readdirSync(dir).sort().map((f) => readFileSync(join(dir, f)));
}

const statusName = (err: unknown): string => {
  const code = (err as grpc.ServiceError).code;
  return typeof code === "number" ? String(code) : "other";
};

type Cells = Record<string, Record<number, LoopResult[]>>;

function record(cells: Cells, variant: string, concurrency: number, result: LoopResult): void {
  ((cells[variant] ??= {})[concurrency] ??= []).push(result);
  const errs = Object.entries(result.errors).map(([k, v]) => `${k}:${v}`).join(" ");
  console.log(`  ${variant.padEnd(14)} c=${String(concurrency).padEnd(2)} ${result.throughput.toFixed(1).padStart(6)} /s  p50 ${result.latencyMs.p50.toFixed(0).padStart(5)} ms  p95 ${result.latencyMs.p95.toFixed(0).padStart(5)} ms${errs ? `  errors ${errs}` : ""}`);
}

/** Per variant and concurrency: median throughput and p95 over rounds, and each variant's ratio to `baseline`. */
function summarise(cells: Cells, baseline: string) {
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of levels) {
    const row: Record<string, unknown> = {};
    for (const [variant, byLevel] of Object.entries(cells)) {
      const runs = byLevel[c] ?? [];
      row[variant] = { throughput: median(runs.map((r) => r.throughput)), p95Ms: median(runs.map((r) => r.latencyMs.p95)) };
      if (variant !== baseline) {
        const base = cells[baseline]![c]!;
        row[`${variant}OverBaseline`] = median(runs.map((r, i) => r.throughput / base[i]!.throughput));
      }
    }
    out[c] = row;
  }
  return out;
}

// 1. Inference only.
async function inferenceOnly(images: Buffer[]) {
  const tensors = await Promise.all(images.map(async (bytes) => preprocessNpr(await decodeImage(bytes, { maxPixels: 40_000_000 }))));
  const neverAborted = new AbortController().signal;
  const variants: Record<string, (i: number) => Promise<unknown>> = {};
  const sessions: ImageLogitSession[] = [];
  for (const spinning of [true, false]) {
    const session = await ImageLogitSession.create(join(modelDir("npr"), "model.onnx"), threads, { size: INPUT_SIZE, modelName: "NPR" }, spinning);
    sessions.push(session);
    await session.stackedLogits(Array(maxBatchSize).fill(tensors[0]!));
    const serial = new InferenceLimiter({ maxConcurrent: 1, maxQueued: 1024 });
    const batcher = new DynamicBatcher((items: readonly Float32Array[]) => session.stackedLogits(items), { maxBatchSize, maxQueueDelayMs });
    const suffix = spinning ? "" : "-nospin";
    variants[`serial${suffix}`] = async (i) => {
      const free = await serial.acquire(neverAborted);
      try {
        return await session.logits(tensors[i % tensors.length]!);
      } finally {
        free();
      }
    };
    variants[`batched${suffix}`] = (i) => batcher.submit(tensors[i % tensors.length]!);
  }
  // What a batch buys the model itself: milliseconds per image by batch size, sequential runs.
  const msPerImage: Record<number, number> = {};
  for (const size of [1, 2, 4, maxBatchSize]) {
    const batch = tensors.slice(0, size).concat(Array(Math.max(0, size - tensors.length)).fill(tensors[0]!));
    const times: number[] = [];
    for (let i = 0; i < Math.max(5, Math.ceil(40 / size)); i++) {
      const t0 = performance.now();
      await sessions[0]!.stackedLogits(batch);
      times.push((performance.now() - t0) / size);
    }
    msPerImage[size] = median(times);
  }
  console.log(`inference only, ms per image by batch size: ${Object.entries(msPerImage).map(([b, ms]) => `${b}: ${ms.toFixed(1)}`).join(", ")}`);
  const cells: Cells = {};
  for (let round = 0; round < rounds; round++) {
    console.log(`inference only, round ${round + 1}/${rounds}`);
    for (const c of levels) for (const [name, call] of Object.entries(variants)) record(cells, name, c, await closedLoop(c, seconds, call));
  }
  for (const session of sessions) await session.release();
  return { msPerImage, cells, summary: summarise(cells, "serial") };
}

interface Detector {
  child: ChildProcess;
  port: number;
  metricsPort: number;
  ready: Promise<void>;
  exited: Promise<void>;
}

/** An NPR detector process (services/npr/src/main.ts) with extra environment; `ready` after its "model ready" log line. */
async function startNpr(env: Record<string, string>): Promise<Detector> {
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: join(repoRoot, "services/npr"),
    env: { ...process.env, DEEPSAFE_THREADS: String(threads), ...env, PORT: String(port), METRICS_PORT: String(metricsPort), DEEPSAFE_LOG_LEVEL: "info" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let seen = "";
    child.stderr!.on("data", (data: Buffer) => {
      seen += data.toString();
      if (seen.includes('"msg":"model ready"')) resolve();
      if (seen.length > 1 << 16) seen = seen.slice(-1024);
    });
    child.once("exit", (code) => reject(new Error(`npr exited with ${code} before it was ready: ${seen.slice(-500)}`)));
  });
  return { child, port, metricsPort, ready, exited };
}

async function stop(detector: Detector): Promise<void> {
  detector.child.kill("SIGTERM");
  await detector.exited;
}

async function scrape(detector: Detector, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${detector.metricsPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

// 2. End to end over gRPC.
async function endToEnd(images: Buffer[]) {
  const batchEnv = { DEEPSAFE_BATCH_MAX_SIZE: String(maxBatchSize), DEEPSAFE_BATCH_MAX_DELAY_MS: String(maxQueueDelayMs) };
  const configs: Record<string, Record<string, string>> = {
    default: {},
    concurrent: { DEEPSAFE_MAX_CONCURRENT: String(maxBatchSize) },
    batched: batchEnv,
    "default-nospin": { DEEPSAFE_ORT_SPINNING: "0" },
    "batched-nospin": { ...batchEnv, DEEPSAFE_ORT_SPINNING: "0" },
  };
  const detectors: Record<string, Detector> = {};
  try {
    for (const [name, env] of Object.entries(configs)) detectors[name] = await startNpr(env);
    await Promise.all(Object.values(detectors).map((d) => d.ready));
    const clients = Object.fromEntries(Object.entries(detectors).map(([name, d]) => [name, createDetectorClient(`127.0.0.1:${d.port}`)]));
    const cells: Cells = {};
    for (let round = 0; round < rounds; round++) {
      console.log(`end to end over gRPC, round ${round + 1}/${rounds}`);
      for (const c of levels) {
        for (const name of Object.keys(configs)) {
          const call = (i: number) => predictBytes(clients[name]!, { header: {}, bytes: images[i % images.length]! });
          record(cells, name, c, await closedLoop(c, seconds, call, statusName));
        }
      }
    }
    for (const client of Object.values(clients)) client.close();
    const averageBatchSize: Record<string, number> = {};
    for (const name of Object.keys(configs).filter((n) => n.startsWith("batched"))) {
      const batches = await scrape(detectors[name]!, "deepsafe_detector_batch_size_count");
      averageBatchSize[name] = (await scrape(detectors[name]!, "deepsafe_detector_batch_size_sum")) / batches;
    }
    return { cells, summary: summarise(cells, "default"), averageBatchSize };
  } finally {
    await Promise.all(Object.values(detectors).map(stop));
  }
}

// 3. Warm-up: time from SERVING to the first answer, with and without warm-up, alternating starts.
async function warmup(images: Buffer[]) {
  const first: Record<"withWarmup" | "withoutWarmup", number[]> = { withWarmup: [], withoutWarmup: [] };
  const steady: number[] = [];
  for (let i = 0; i < warmupStarts; i++) {
    for (const variant of ["withoutWarmup", "withWarmup"] as const) {
      const detector = await startNpr({ DEEPSAFE_WARMUP: variant === "withWarmup" ? "1" : "0" });
      try {
        await detector.ready;
        const client = createDetectorClient(`127.0.0.1:${detector.port}`);
        // The channel is connected first, so the figure is the model's, not the TCP handshake's.
        await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
        const t0 = performance.now();
        await predictBytes(client, { header: {}, bytes: images[0]! });
        first[variant].push(performance.now() - t0);
        for (let k = 1; k <= 5; k++) {
          const t = performance.now();
          await predictBytes(client, { header: {}, bytes: images[k]! });
          if (variant === "withWarmup") steady.push(performance.now() - t);
        }
        client.close();
      } finally {
        await stop(detector);
      }
    }
    console.log(`warm-up start ${i + 1}/${warmupStarts}: first request ${first.withoutWarmup.at(-1)!.toFixed(0)} ms without, ${first.withWarmup.at(-1)!.toFixed(0)} ms with warm-up`);
  }
  return {
    firstRequestMs: first,
    medianFirstRequestMs: { withWarmup: median(first.withWarmup), withoutWarmup: median(first.withoutWarmup) },
    medianSteadyRequestMs: median(steady),
    withoutOverWith: median(first.withoutWarmup) / median(first.withWarmup),
  };
}

const base = loadRegistry();
await prepareModels({ ...base, detectors: base.detectors.filter((d) => d.name === "npr") }, { allowRandomWeights: true });
const images = makeImages();
const settings = { seconds, rounds, concurrency: levels, maxBatchSize, maxQueueDelayMs, intraOpThreads: threads };
console.log(`NPR batching benchmark: ${JSON.stringify(settings)}; ${images.length} JPEGs 1280x720, ${cpus().length} cores (${cpus()[0]?.model})`);
const results = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, loadAverageAtStart: loadavg(), loadAverageAtEnd: [] as number[] },
  settings,
  inferenceOnly: await inferenceOnly(images),
  endToEnd: await endToEnd(images),
  warmup: await warmup(images),
};
results.machine.loadAverageAtEnd = loadavg();

mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/batching.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log("\nthroughput ratios (median over rounds):");
for (const c of levels) {
  const io = results.inferenceOnly.summary[c]!;
  const e2e = results.endToEnd.summary[c]!;
  const ratios = (row: Record<string, unknown>) =>
    Object.entries(row).filter(([k]) => k.endsWith("OverBaseline")).map(([k, v]) => `${k.replace("OverBaseline", "")} ${(v as number).toFixed(2)}x`).join(", ");
  console.log(`  c=${c}: inference only, over serial: ${ratios(io)}\n        end to end, over default: ${ratios(e2e)}`);
}
console.log(`  average batch size, end to end over all levels: ${Object.entries(results.endToEnd.averageBatchSize).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")}`);
const w = results.warmup;
console.log(`warm-up: first request ${w.medianFirstRequestMs.withoutWarmup.toFixed(0)} ms without, ${w.medianFirstRequestMs.withWarmup.toFixed(0)} ms with (${w.withoutOverWith.toFixed(2)}x); steady ${w.medianSteadyRequestMs.toFixed(0)} ms`);
console.log("wrote bench/results/batching.json");
