// Latency of MesoNet: one face through onnxruntime-node against PyTorch (same weights, same thread count), the
// face crop, and the SDK face detector.
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights tsx scripts/latency.ts [--threads 1,2] [--runs 50]
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FaceDetector } from "@deepsafe/sdk";
import { alignFace, type Point } from "../src/align.js";
import { FACE_FLOATS, MesoSession, WEIGHTS_NAMES, type MesoWeights } from "../src/onnx.js";

const pythonBinary = () => process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const { values } = parseArgs({ options: { threads: { type: "string", default: "1,2" }, runs: { type: "string", default: "50" } } });
const runs = Number(values.runs);
const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
if (!mirror || !existsSync(join(mirror, "mesonet"))) {
  console.error("set DEEPSAFE_WEIGHTS_MIRROR to a folder holding mesonet/*.h5 and yunet/yunet_n_dynamic.onnx");
  process.exit(1);
}
const python = join(fileURLToPath(new URL(".", import.meta.url)), "..", "python");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function timeIt(fn: () => unknown, n: number): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

const work = mkdtempSync(join(tmpdir(), "mesonet-latency-"));
const rows: Record<string, unknown>[] = [];
try {
  for (const weights of ["MesoInception_DF", "Meso4_DF"] as MesoWeights[]) {
    if (!WEIGHTS_NAMES.includes(weights)) continue;
    const h5 = join(mirror, "mesonet", `${weights}.h5`);
    const out = join(work, weights);
    const exp = spawnSync(pythonBinary(), [join(python, "export.py"), "--weights", weights, "--checkpoint", h5, "--out", out], { encoding: "utf8" });
    if (exp.status !== 0) throw new Error(exp.stderr);
    for (const threads of values.threads!.split(",").map(Number)) {
      const session = await MesoSession.create(join(out, "model.onnx"), threads);
      const x = new Float32Array(FACE_FLOATS).map(() => Math.random());
      const ort1 = await timeIt(() => session.logits(x), runs);
      const x8 = new Float32Array(8 * FACE_FLOATS).map(() => Math.random());
      const ort8 = await timeIt(() => session.logits(x8, 8), Math.ceil(runs / 4));
      await session.release();
      const torch = spawnSync(pythonBinary(), [join(python, "reference_scores.py"), "--checkpoint", h5, "--bench", String(runs), "--threads", String(threads)], { encoding: "utf8" });
      const bench = (JSON.parse(torch.stdout) as { bench: { medianMs: number; torch: string } }).bench;
      rows.push({ weights, threads, ortMs: +ort1.toFixed(2), ortPerFaceBatch8Ms: +(ort8 / 8).toFixed(2), torchMs: +bench.medianMs.toFixed(2), torch: bench.torch });
    }
  }
  console.log(`MesoNet, one 256x256 face (${runs} runs, median)`);
  console.table(rows);

  const crop: Record<string, unknown>[] = [];
  for (const [w, h, s] of [[640, 480, 60], [1920, 1080, 150], [4000, 3000, 600]] as const) {
    const data = new Uint8Array(w * h * 3).map((_, i) => (i * 2654435761) >>> 24);
    const lm: Point[] = [[w / 2 + 0.35 * s, h / 2 - 0.2 * s], [w / 2 - 0.35 * s, h / 2 - 0.2 * s], [w / 2, h / 2 + 0.15 * s], [w / 2 + 0.25 * s, h / 2 + 0.43 * s], [w / 2 - 0.25 * s, h / 2 + 0.43 * s]];
    crop.push({ image: `${w}x${h}`, cropSide: Math.round(2.002 * s), alignMs: +(await timeIt(() => alignFace({ data, width: w, height: h }, lm), 20)).toFixed(2) });
    const detector = await FaceDetector.load(join(mirror, "yunet", "yunet_n_dynamic.onnx"), 1);
    crop[crop.length - 1]!.yunetDetectMs = +(await timeIt(() => detector.detect({ data, width: w, height: h }), 10)).toFixed(2);
    await detector.release();
  }
  console.log("Face crop (single thread) and YuNet detection (1 thread, 640x480 network input)");
  console.table(crop);
} finally {
  rmSync(work, { recursive: true, force: true });
}
