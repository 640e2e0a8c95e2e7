// `npm run load -- --clients N --minutes M`: bounded load on the real mesh over loopback.
// Starts its own mesh (every detector a process, then the gateway), then
//  1. steady phase: N closed-loop clients for M minutes, mixed media (photo with a face, JPEG, PNG,
//     speech WAV, MP4) over gRPC (connect-node) and REST multipart /detect alternately;
//  2. overload phase: many more clients than the detectors admit, to show that the mesh sheds with
//     RESOURCE_EXHAUSTED / HTTP 429 at once instead of growing queues, and that latency stays bounded.
// Reports per phase throughput, p50/p95/p99, error counts by code (request level, and per detector
// inside answered requests), and each process's peak RSS (VmHWM). Writes bench/results/load.json.
//   tsx bench/load.ts [--clients 4] [--minutes 1] [--overload-clients 48] [--overload-seconds 15]
//                     [--detectors npr,mesonet,mesonet-video,lfcc-lcnn] [--out FILE]
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { findSamplePhotos } from "@deepsafe/sdk/testing";
import { type Mesh, loadRegistry, repoRoot, startMesh, withFreePorts } from "../deploy/local/mesh.js";
import { prepareModels } from "../deploy/local/prepare-models.js";
import { connectClient, detectVia } from "../deploy/test/clients.js";
import { photoJpeg, photoPng, speech } from "../deploy/test/media.js";
import { type LoopResult, closedLoop, percentile } from "./closed-loop.js";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "4" },
    minutes: { type: "string", default: "1" },
    "overload-clients": { type: "string", default: "48" },
    "overload-seconds": { type: "string", default: "15" },
    detectors: { type: "string", default: "npr,mesonet,mesonet-video,lfcc-lcnn" },
    out: { type: "string", default: join(repoRoot, "bench/results/load.json") },
  },
});
const clients = Number(values.clients);
const steadySeconds = Number(values.minutes) * 60;
const overloadClients = Number(values["overload-clients"]);
const overloadSeconds = Number(values["overload-seconds"]);
for (const [name, v] of Object.entries({ clients, steadySeconds, overloadClients, overloadSeconds })) {
  if (!(v >= 0) || !Number.isFinite(v)) throw new Error(`--${name} must be a number >= 0`);
}

interface Sample {
  name: string;
  bytes: Buffer;
  mime: string;
}

/** A short MP4 with picture and sound (testsrc2 + a tone), 2 s at 640x360. */
function clip(): Buffer {
  const path = join(mkdtempSync(join(tmpdir(), "deepsafe-load-")), "clip.mp4");
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=15",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000", "-t", "2", "-pix_fmt", "yuv420p", "-shortest", path]);
  return readFileSync(path);
}

function mixedMedia(): Sample[] {
  const samples: Sample[] = [
    { name: "photo.jpg", bytes: photoJpeg(), mime: "image/jpeg" },
    { name: "speech.wav", bytes: speech("wav"), mime: "audio/wav" },
    { name: "photo.png", bytes: photoPng(), mime: "image/png" },
    { name: "clip.mp4", bytes: clip(), mime: "video/mp4" },
  ];
  const { dir } = findSamplePhotos();
  if (dir) samples.push({ name: "astronaut.png", bytes: readFileSync(join(dir, "astronaut.png")), mime: "image/png" });
  return samples;
}

/** Detect failures by code: "grpc:RESOURCE_EXHAUSTED", "http:429", or "other:<message>". */
class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** Per-detector error codes seen inside answered requests (a detector shedding while others answered). */
const modelErrors: Record<string, number> = {};
const countModelError = (model: string, code: string) => {
  const key = `${model}:${code}`;
  modelErrors[key] = (modelErrors[key] ?? 0) + 1;
};

function grpcCode(code: Code): string {
  // Connect's names are camel case (ResourceExhausted); report gRPC's (RESOURCE_EXHAUSTED).
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

let grpcClient: ReturnType<typeof connectClient> | undefined;

async function viaGrpc(mesh: Mesh, sample: Sample): Promise<void> {
  grpcClient ??= connectClient(mesh.gatewayUrl, "grpc");
  try {
    const res = await detectVia(grpcClient, sample.bytes, { fileName: sample.name, includeRandomWeights: true });
    for (const r of res.modelResults) if (r.errorCode) countModelError(r.model, r.errorCode);
  } catch (err) {
    const e = ConnectError.from(err);
    throw new RequestError(`grpc:${grpcCode(e.code)}`, e.rawMessage);
  }
}

async function viaRest(mesh: Mesh, sample: Sample): Promise<void> {
  const form = new FormData();
  form.set("include_random_weights", "true");
  form.set("file", new Blob([new Uint8Array(sample.bytes)], { type: sample.mime }), sample.name);
  const res = await fetch(`${mesh.gatewayUrl}/detect`, { method: "POST", body: form }).catch((err: Error) => {
    throw new RequestError("http:connection", err.message);
  });
  const body = await res.text();
  if (!res.ok) throw new RequestError(`http:${res.status}`, body.slice(0, 200));
  const answer = JSON.parse(body) as { model_results?: Record<string, { error_code?: string }> };
  for (const [model, r] of Object.entries(answer.model_results ?? {})) if (r.error_code) countModelError(model, r.error_code);
}

function peakRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined; // the process has exited, or no /proc (not Linux)
  }
}

/** Snapshot of the error-count object, and a fresh start for the next phase. */
function takeModelErrors(): Record<string, number> {
  const copy = { ...modelErrors };
  for (const k of Object.keys(modelErrors)) delete modelErrors[k];
  return copy;
}

type PhaseResult = LoopResult & { modelErrors: Record<string, number>; byMedium: Record<string, { answered: number; p50Ms: number; p95Ms: number }> };

async function phase(mesh: Mesh, media: Sample[], concurrency: number, seconds: number): Promise<PhaseResult> {
  const answered: Record<string, number[]> = {};
  const result = await closedLoop(
    concurrency,
    seconds,
    async (i) => {
      const sample = media[i % media.length]!;
      const t0 = performance.now();
      // Alternate protocols per media cycle so each medium goes through both.
      await (Math.floor(i / media.length) % 2 === 0 ? viaGrpc(mesh, sample) : viaRest(mesh, sample));
      (answered[sample.name] ??= []).push(performance.now() - t0);
    },
    (err) => (err instanceof RequestError ? err.code : `other:${(err as Error).message.slice(0, 80)}`),
  );
  const byMedium = Object.fromEntries(
    Object.entries(answered).map(([name, ms]) => {
      ms.sort((a, b) => a - b);
      return [name, { answered: ms.length, p50Ms: percentile(ms, 50), p95Ms: percentile(ms, 95) }];
    }),
  );
  return { ...result, modelErrors: takeModelErrors(), byMedium };
}

function show(name: string, r: PhaseResult): void {
  const errors = Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  const inner = Object.entries(r.modelErrors).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  console.log(`${name}: ${r.requests} requests in ${r.seconds.toFixed(1)} s, ${r.throughput.toFixed(2)} answered/s, ` +
    `p50 ${r.latencyMs.p50.toFixed(0)} ms, p95 ${r.latencyMs.p95.toFixed(0)} ms, p99 ${r.latencyMs.p99.toFixed(0)} ms, max ${r.latencyMs.max.toFixed(0)} ms`);
  const failedIn = Number.isNaN(r.errorLatencyMs.p50) ? "" : ` (failed calls answered in p50 ${r.errorLatencyMs.p50.toFixed(0)} ms, max ${r.errorLatencyMs.max.toFixed(0)} ms)`;
  console.log(`  request errors: ${errors}${failedIn}\n  detector errors inside answers: ${inner}`);
  console.log(`  answered by medium: ${Object.entries(r.byMedium).map(([k, v]) => `${k} ${v.answered} (p50 ${v.p50Ms.toFixed(0)} ms, p95 ${v.p95Ms.toFixed(0)} ms)`).join(", ")}`);
}

const base = loadRegistry();
const wanted = values.detectors.split(",").map((s) => s.trim()).filter(Boolean);
const registry = await withFreePorts({ ...base, detectors: base.detectors.filter((d) => wanted.includes(d.name)) });
const { ready, unavailable } = await prepareModels(registry, { allowRandomWeights: true });
for (const [name, why] of unavailable) console.warn(`${name}: not started (${why})`);
if (ready.length === 0) throw new Error(`none of ${wanted.join(", ")} can run`);
const media = mixedMedia().filter((s) => {
  const kind = s.mime.split("/")[0] === "image" ? "image" : s.mime.startsWith("audio") ? "audio" : "video";
  return registry.detectors.some((d) => ready.includes(d.name) && d.media_type === kind);
});

console.log(`load: ${ready.join(", ")} + gateway; steady ${clients} clients x ${steadySeconds} s, overload ${overloadClients} clients x ${overloadSeconds} s; ` +
  `media ${media.map((m) => `${m.name} (${(m.bytes.length / 1024).toFixed(0)} KiB)`).join(", ")}`);
const mesh = await startMesh({ registry, detectors: ready, output: "ignore", env: { DEEPSAFE_LOG_LEVEL: "error" } });
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model, loadAverageAtStart: loadavg() },
  settings: { clients, steadySeconds, overloadClients, overloadSeconds, detectors: ready, unavailable: Object.fromEntries(unavailable) },
  media: media.map((m) => ({ name: m.name, bytes: m.bytes.length })),
};
try {
  await mesh.waitReady(180_000);
  // One request per medium first, so start-up (lazy paths, connections) is not in the figures.
  for (const sample of media) await viaGrpc(mesh, sample).catch(() => undefined);
  takeModelErrors();

  const steady = await phase(mesh, media, clients, steadySeconds);
  show("steady", steady);
  const overload = await phase(mesh, media, overloadClients, overloadSeconds);
  show("overload", overload);
  const shed = (r: LoopResult) => (r.errors["grpc:RESOURCE_EXHAUSTED"] ?? 0) + (r.errors["http:429"] ?? 0);
  const peakRssBytes: Record<string, number | undefined> = { load: peakRss(process.pid) };
  for (const [name, proc] of mesh.processes) peakRssBytes[name] = peakRss(proc.child.pid);
  Object.assign(results, {
    steady,
    overload,
    shedding: {
      rejectedFast: shed(overload),
      shedFraction: overload.requests ? shed(overload) / overload.requests : 0,
      detectorShedInsideAnswers: Object.entries(overload.modelErrors).filter(([k]) => k.endsWith(":RESOURCE_EXHAUSTED")).reduce((n, [, v]) => n + v, 0),
      p99OverloadOverSteady: overload.latencyMs.p99 / steady.latencyMs.p99,
    },
    peakRssBytes,
    processesAlive: Object.fromEntries([...mesh.processes].map(([name, p]) => [name, p.child.exitCode === null && p.child.signalCode === null])),
  });
  console.log(`peak RSS (VmHWM), MiB: ${Object.entries(peakRssBytes).map(([k, v]) => `${k} ${v === undefined ? "?" : (v / 2 ** 20).toFixed(0)}`).join(", ")}`);
  console.log(`over capacity: ${shed(overload)} of ${overload.requests} requests shed with RESOURCE_EXHAUSTED/429, ` +
    `${(results.shedding as { detectorShedInsideAnswers: number }).detectorShedInsideAnswers} detector calls shed inside answered requests; ` +
    `p99 overload/steady ${(overload.latencyMs.p99 / steady.latencyMs.p99).toFixed(2)}x`);
} finally {
  await mesh.stop();
}
(results.machine as Record<string, unknown>).loadAverageAtEnd = loadavg();
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${values.out}`);
