// `npm run bench`: the transport and runtime claims, as ratios measured in one run on this machine.
//  1. gateway Detect vs calling the detector directly (same 5 MiB JPEG, same grpc-js client)
//  2. our streaming gateway vs the original DeepSafe's base64-JSON HTTP path (same model behind both)
//  Both twice: with a sink detector that does no inference (transport alone) and with NPR (end to end).
//  3. NPR in onnxruntime-node vs the PyTorch reference, same thread count (services/npr/scripts/latency.ts)
// Writes bench/results/latest.json. Options: --runs N (default 15).
import { type ChildProcess, execFileSync, fork, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createDetectorClient, predictBytes } from "@deepsafe/sdk";
import { ModelHealth } from "@deepsafe/proto/es/gateway";
import type { DetectorConfig } from "../gateway/src/registry.js";
import { type Mesh, freePort, loadRegistry, repoRoot, startMesh, withFreePorts } from "../deploy/local/mesh.js";
import { prepareModels } from "../deploy/local/prepare-models.js";
import { connectClient, detectGrpcJs, detectVia } from "../deploy/test/clients.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "15" } } });
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function makeInput(): Buffer {
  const path = join(mkdtempSync(join(tmpdir(), "deepsafe-bench-")), "input.jpg");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
    "-i", "testsrc2=size=3200x2200:rate=1,noise=alls=40:allf=t", "-frames:v", "1", "-q:v", "2", path]);
  return readFileSync(path);
}

function forkReady(script: string, env: Record<string, string>): Promise<ChildProcess> {
  const child = fork(join(repoRoot, "bench", script), [], {
    env: { ...process.env, ...env },
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** Time `runs` calls of each variant, interleaved so drift in machine load hits all of them alike. */
async function timeInterleaved(variants: Record<string, () => Promise<unknown>>): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = -2; i < runs; i++) {
    for (const [name, call] of Object.entries(variants)) {
      const started = performance.now();
      await call();
      if (i >= 0) samples[name]!.push(performance.now() - started);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}

const input = makeInput();
const children: ChildProcess[] = [];

async function legacyPath(model: "npr" | "sink"): Promise<() => Promise<void>> {
  const modelPort = await freePort();
  const legacyPort = await freePort();
  children.push(await forkReady("deepsafe-style/model-service.ts", { PORT: String(modelPort), MODEL: model }));
  children.push(await forkReady("deepsafe-style/gateway.ts", { PORT: String(legacyPort), MODEL_URLS: `http://127.0.0.1:${modelPort}/predict` }));
  return async () => {
    const res = await fetch(`http://127.0.0.1:${legacyPort}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ media_type: "image", image_data: input.toString("base64"), threshold: 0.5 }),
    });
    if (!res.ok) throw new Error(`baseline failed: ${res.status}`);
    await res.json();
  };
}

/** Direct call, our gateway over grpc-js and Connect, and the DeepSafe-style path, interleaved. */
async function compare(mesh: Mesh, detector: DetectorConfig, legacy: () => Promise<void>) {
  const direct = createDetectorClient(detector.address);
  const connect = connectClient(mesh.gatewayUrl, "connect");
  const gatewayAddress = mesh.gatewayUrl.replace("http://", "");
  const header = { includeRandomWeights: true, models: [detector.name] };
  try {
    const ms = await timeInterleaved({
      direct: () => predictBytes(direct, { header: {}, bytes: input }),
      gatewayGrpc: () => detectGrpcJs(gatewayAddress, input, header),
      gatewayConnect: () => detectVia(connect, input, header),
      deepsafeStyle: legacy,
    });
    return {
      medianMs: ms,
      gatewayOverDirect_grpcjs: ms.gatewayGrpc! / ms.direct!,
      gatewayOverDirect_connect: ms.gatewayConnect! / ms.direct!,
      deepsafeStyleOverGateway: ms.deepsafeStyle! / ms.gatewayGrpc!,
    };
  } finally {
    direct.close();
  }
}

async function waitServing(mesh: Mesh, name: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const res = await connectClient(mesh.gatewayUrl).listModels({}).catch(() => undefined);
    if (res?.models.find((m) => m.name === name)?.health === ModelHealth.SERVING) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${name} never became ready`);
}

const base = loadRegistry();
const results: Record<string, unknown> = { date: new Date().toISOString(), inputBytes: input.length, runs };
try {
  // Transport alone: a sink detector (started here, not by the mesh) behind our gateway.
  const sinkRegistry = await withFreePorts({
    ...base,
    detectors: [{ ...base.detectors[0]!, name: "sink", package: "bench", media_type: "image", default: true, env: {} }],
  });
  const sink = sinkRegistry.detectors[0]!;
  children.push(await forkReady("sink-detector.ts", { PORT: sink.address.split(":")[1]! }));
  const sinkMesh = await startMesh({ registry: sinkRegistry, detectors: [], output: "ignore" });
  try {
    await waitServing(sinkMesh, "sink");
    results.transport = await compare(sinkMesh, sink, await legacyPath("sink"));
  } finally {
    await sinkMesh.stop();
  }

  // End to end with NPR.
  const nprRegistry = await withFreePorts({ ...base, detectors: base.detectors.filter((d) => d.name === "npr") });
  await prepareModels(nprRegistry, { allowRandomWeights: true });
  const nprMesh = await startMesh({ registry: nprRegistry, output: "ignore" });
  try {
    await nprMesh.waitReady();
    results.npr = await compare(nprMesh, nprRegistry.detectors[0]!, await legacyPath("npr"));
  } finally {
    await nprMesh.stop();
  }
} finally {
  for (const child of children) child.kill("SIGTERM");
}

// 3. ORT vs PyTorch on the same weights and threads (the NPR service's own latency script).
const latency = spawnSync(process.execPath, ["--import", "tsx", "scripts/latency.ts", "--threads", "1,2", "--runs", "20"], {
  cwd: join(repoRoot, "services/npr"),
  encoding: "utf8",
});
results.nprRuntime = latency.stdout.trim();

mkdirSync(join(repoRoot, "bench/results"), { recursive: true });
writeFileSync(join(repoRoot, "bench/results/latest.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(`input: ${(input.length / 2 ** 20).toFixed(2)} MiB JPEG, ${runs} runs per variant, medians in ms`);
for (const section of ["transport", "npr"] as const) {
  const r = results[section] as Awaited<ReturnType<typeof compare>>;
  console.log(`\n${section === "transport" ? "transport alone (sink detector)" : "end to end (NPR)"}:`);
  for (const [k, v] of Object.entries(r.medianMs)) console.log(`  ${k.padEnd(16)} ${v.toFixed(1)}`);
  console.log(`  gateway / direct, grpc-js client:  ${r.gatewayOverDirect_grpcjs.toFixed(3)}x  (goal <= 1.2)`);
  console.log(`  gateway / direct, Connect client:  ${r.gatewayOverDirect_connect.toFixed(3)}x`);
  console.log(`  DeepSafe-style / ours:             ${r.deepsafeStyleOverGateway.toFixed(3)}x  (goal >= 1.5)`);
}
console.log(`\nNPR runtime (ORT vs PyTorch):\n${results.nprRuntime as string}`);
console.log("wrote bench/results/latest.json");
