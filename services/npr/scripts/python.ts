// Where the Python tooling runs: $DEEPSAFE_PYTHON, else Debian's /usr/bin/python3 (torch, PIL,
// numpy installed there), else python3 on PATH.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const serviceDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(serviceDir, "..", "..");
export const pythonDir = join(serviceDir, "python");

export function pythonExecutable(): string {
  const configured = process.env.DEEPSAFE_PYTHON;
  if (configured) return configured;
  return existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

/** Run one of our Python scripts; throws with its stderr on failure, returns stdout. */
export function runPython(script: string, args: string[]): string {
  return execFileSync(pythonExecutable(), [join(pythonDir, script), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Run one of our Python scripts and return its exit status and output without throwing. */
export function tryPython(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(pythonExecutable(), [join(pythonDir, script), ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** $DEEPSAFE_MODELS_DIR/npr, or <repo>/.deepsafe/models/npr (the SDK's modelDir("npr")). */
export function defaultModelDir(): string {
  const base = process.env.DEEPSAFE_MODELS_DIR ?? join(repoRoot, ".deepsafe", "models");
  return join(base, "npr");
}

export const fixturesDir = join(repoRoot, ".deepsafe", "fixtures", "npr");
