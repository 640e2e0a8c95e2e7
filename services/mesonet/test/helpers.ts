// Shared by the MesoNet tests: Python (torch + h5py) discovery, exports into temp dirs, fixtures.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const serviceDir = fileURLToPath(new URL("..", import.meta.url));
export const repoRoot = resolve(serviceDir, "..", "..");
export const pythonDir = join(serviceDir, "python");

/** Official weights mirror: $DEEPSAFE_WEIGHTS_MIRROR, else ../shared/weights beside the repository. */
export const weightsMirror = process.env.DEEPSAFE_WEIGHTS_MIRROR ?? join(repoRoot, "..", "shared", "weights");
export const mesonetWeightsDir = join(weightsMirror, "mesonet");

export function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/** Why Python with torch, numpy, h5py and PIL cannot be used here, or undefined when it can. */
export function pythonUnavailable(): string | undefined {
  const run = spawnSync(pythonBinary(), ["-c", "import torch, numpy, h5py, PIL"], { encoding: "utf8" });
  if (run.error) return `cannot run ${pythonBinary()}: ${run.error.message}`;
  if (run.status !== 0) return `${pythonBinary()} lacks torch/numpy/h5py/PIL (set DEEPSAFE_PYTHON)`;
  return undefined;
}

/** Why the official weights cannot be used, or undefined when all four files are there. */
export function officialWeightsUnavailable(): string | undefined {
  for (const w of ["Meso4_DF", "Meso4_F2F", "MesoInception_DF", "MesoInception_F2F"]) {
    if (!existsSync(join(mesonetWeightsDir, `${w}.h5`))) return `${join(mesonetWeightsDir, `${w}.h5`)} not found (set DEEPSAFE_WEIGHTS_MIRROR)`;
  }
  return undefined;
}

const tempDirs: string[] = [];
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `mesonet-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run one of python/*.py. */
export function runPython(script: string, args: string[]): ProcessResult {
  const run = spawnSync(pythonBinary(), [join(pythonDir, script), ...args], { encoding: "utf8", maxBuffer: 64 << 20 });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

export function runPythonOk(script: string, args: string[]): string {
  const r = runPython(script, args);
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** python/export.py into a fresh temp dir (official file or random fixture); returns the dir. */
export function exportModel(weights: string, source: { checkpoint: string } | { randomSeed: number }, extra: string[] = []): string {
  const out = tempDir(`onnx-${weights}`);
  const src = "checkpoint" in source ? ["--checkpoint", source.checkpoint] : ["--random-seed", String(source.randomSeed)];
  runPythonOk("export.py", ["--weights", weights, ...src, "--out", out, ...extra]);
  return out;
}

export interface Fixtures {
  dir: string;
  crops: string[];
  scenes: { file: string; width: number; height: number; faces: [number, number][][] }[];
  /** one-face, two-faces, no-face → file name */
  service: Record<string, string>;
  video?: { frames: string; count: number; fps: number };
}

let fixtures: Fixtures | undefined;
/** python/make_fixtures.py, once per test process (with video frames when asked). */
export function makeFixtures(video = false): Fixtures {
  if (fixtures && (!video || fixtures.video)) return fixtures;
  const dir = tempDir("fixtures");
  runPythonOk("make_fixtures.py", [dir, ...(video ? ["--video"] : [])]);
  const list = JSON.parse(readFileSync(join(dir, "fixtures.json"), "utf8")) as Omit<Fixtures, "dir">;
  fixtures = { dir, ...list };
  return fixtures;
}

