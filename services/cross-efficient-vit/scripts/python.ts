// Where our Python tooling runs ($DEEPSAFE_PYTHON, else Debian's /usr/bin/python3 with torch and numpy, else
// python3 on PATH), and the hash of the converter code recorded in provenance.json (a changed converter makes
// prepare-model convert again).
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const serviceDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const pythonDir = join(serviceDir, "python");

export function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/** Why our Python scripts cannot run here (torch or numpy missing), or undefined when they can. */
export function pythonUnavailable(): string | undefined {
  const run = spawnSync(pythonBinary(), ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (run.error) return `cannot run ${pythonBinary()}: ${run.error.message}`;
  if (run.status !== 0) return `${pythonBinary()} cannot import torch and numpy (set DEEPSAFE_PYTHON)`;
  return undefined;
}

export interface PythonRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runPython(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): PythonRun {
  const run = spawnSync(pythonBinary(), [join(pythonDir, script), ...args], { encoding: "utf8", maxBuffer: 64 << 20, env });
  if (run.error) throw new Error(`cannot run ${pythonBinary()}: ${run.error.message} (set DEEPSAFE_PYTHON)`);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** sha256 over the files that define the conversion (the reference model and the exporter). */
export function converterDigest(): string {
  const h = createHash("sha256");
  for (const file of ["cross_efficient_vit.py", "export.py"]) h.update(readFileSync(join(pythonDir, file)));
  return h.digest("hex");
}
