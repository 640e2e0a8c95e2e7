// Where the Python tooling runs: $DEEPSAFE_PYTHON, else Debian's /usr/bin/python3 (torch, PIL,
// numpy installed there), else python3 on PATH. Plus the paths the scripts and tests share.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const serviceDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = resolve(serviceDir, "..", "..");
export const pythonDir = join(serviceDir, "python");

/** Where the official files sit inside a weights mirror (same layout as ../shared/weights). */
export const HEAD_MIRROR_PATH = "universalfakedetect/fc_weights.pth";
export const BACKBONE_MIRROR_PATH = "clip/ViT-L-14.pt";
export const HEAD_SHA256 = "477100745713bcc957beb2b40859536859b6483fd6301b3b9293151b194c7847";
export const BACKBONE_SHA256 = "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836";
export const BACKBONE_URL = `https://openaipublic.azureedge.net/clip/models/${BACKBONE_SHA256}/ViT-L-14.pt`;

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
  const r = spawnSync(pythonExecutable(), [join(pythonDir, script), ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** $DEEPSAFE_MODELS_DIR/ufd, or <repo>/.deepsafe/models/ufd (the SDK's modelDir("ufd")). */
export function defaultModelDir(): string {
  const base = process.env.DEEPSAFE_MODELS_DIR ?? join(repoRoot, ".deepsafe", "models");
  return join(base, "ufd");
}

export const fixturesDir = join(repoRoot, ".deepsafe", "fixtures", "ufd");

/** The official head from $DEEPSAFE_WEIGHTS_MIRROR, or undefined when it is not there. */
export function mirroredHead(): string | undefined {
  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
  const path = mirror ? join(mirror, HEAD_MIRROR_PATH) : undefined;
  return path && existsSync(path) ? path : undefined;
}

/** Blocks in the reduced-depth test fixture (ViT-L/14 has 24). */
export const FIXTURE_BLOCKS = 2;

/**
 * The test fixture: a FIXTURE_BLOCKS-block random CLIP image tower (written as a TorchScript
 * archive, converted through the same reader as ViT-L-14.pt) with the official head when the mirror
 * has it, else a random head (reported). Idempotent; returns where things are.
 */
export function ensureFixture(): { modelDir: string; backbone: string; head: string; officialHead: boolean } {
  const modelDir = join(fixturesDir, "model");
  let head = mirroredHead();
  const officialHead = head !== undefined;
  if (!head) {
    head = join(fixturesDir, "random-head-seed0.pth");
    if (!existsSync(head)) runPython("make_random_clip.py", ["--head-only", head, "--seed", "0"]);
    console.log(`ufd: official head not found ($DEEPSAFE_WEIGHTS_MIRROR/${HEAD_MIRROR_PATH}); the fixture uses a random head`);
  }
  const outDir = join(modelDir, officialHead ? "official-head" : "random-head");
  runPython("export.py", ["--random-backbone-layers", String(FIXTURE_BLOCKS), "--random-seed", "0", "--head", head, "--out-dir", outDir]);
  return {
    modelDir: outDir,
    backbone: join(outDir, `random-clip-vitl14-${FIXTURE_BLOCKS}blocks-seed0.pt`),
    head,
    officialHead,
  };
}
