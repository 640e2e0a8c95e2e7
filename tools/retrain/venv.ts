// The retrain command's Python environment: a project-local venv (.deepsafe/venv-retrain) with the
// pinned packages of python/requirements.txt. Created on first use; reinstalled only when the
// requirements or the base interpreter change (a stamp file records both).
//
// `npx tsx tools/retrain/venv.ts` prepares it ahead of time (CI does).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { repoRoot } from "../../deploy/local/mesh.js";

export const REQUIREMENTS = fileURLToPath(new URL("./python/requirements.txt", import.meta.url));
export const TRAIN_SCRIPT = fileURLToPath(new URL("./python/train.py", import.meta.url));
export const VENV_DIR = process.env.DEEPSAFE_RETRAIN_VENV ?? join(repoRoot, ".deepsafe", "venv-retrain");
/** The interpreter the venv is made from: Debian's python3 has venv and ensurepip (python3-venv). */
const BASE_PYTHON = process.env.DEEPSAFE_RETRAIN_PYTHON ?? "/usr/bin/python3";
const STAMP = ".deepsafe-requirements";

export function venvPython(dir = VENV_DIR): string {
  return join(dir, "bin", "python");
}

/** Run a command; resolves with its output, rejects with the output's tail on failure. */
export function run(cmd: string, args: string[], options: { echo?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
    let out = "";
    const take = (d: Buffer) => {
      out += d.toString();
      if (options.echo) process.stderr.write(d);
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    child.on("error", (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out.slice(-3000)}`))));
  });
}

async function stampOf(): Promise<string> {
  const version = (await run(BASE_PYTHON, ["-c", "import sys; print(sys.version)"])).trim();
  return createHash("sha256").update(readFileSync(REQUIREMENTS)).update(`\n${BASE_PYTHON}\n${version}`).digest("hex");
}

/**
 * Make sure the venv exists with exactly the pinned packages; returns its python. `log` gets one line
 * per step (creating and installing take about a minute once; afterwards this is a file read).
 */
export async function ensureVenv(log: (line: string) => void = () => {}): Promise<string> {
  const stampFile = join(VENV_DIR, STAMP);
  const want = await stampOf().catch((err: Error) => {
    throw new Error(`no Python for training at ${BASE_PYTHON} (set DEEPSAFE_RETRAIN_PYTHON): ${err.message}`);
  });
  if (existsSync(stampFile) && readFileSync(stampFile, "utf8").trim() === want && existsSync(venvPython())) return venvPython();
  const started = performance.now();
  rmSync(VENV_DIR, { recursive: true, force: true });
  log(`creating ${VENV_DIR} with ${BASE_PYTHON} …`);
  try {
    await run(BASE_PYTHON, ["-m", "venv", VENV_DIR]);
  } catch (err) {
    throw new Error(`${BASE_PYTHON} cannot create a venv (Debian/Ubuntu: apt-get install python3-venv): ${(err as Error).message}`);
  }
  log(`installing ${REQUIREMENTS} (pinned: scikit-learn, xgboost, lightgbm, optuna, skl2onnx, onnxmltools, onnxruntime) …`);
  await run(venvPython(), ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", "-r", REQUIREMENTS]);
  writeFileSync(stampFile, `${want}\n`);
  log(`python environment ready in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return venvPython();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  ensureVenv((line) => process.stdout.write(`${line}\n`)).then(
    (python) => process.stdout.write(`${python}\n`),
    (err: Error) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}
