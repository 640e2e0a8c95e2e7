// Shared by the LFCC-LCNN tests: Python (torch) discovery, ONNX export into temp dirs, ffmpeg decoding
// with the SDK's arguments, and test-audio synthesis.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const serviceDir = fileURLToPath(new URL("..", import.meta.url));
export const exportScript = join(serviceDir, "python", "export.py");
export const referenceScript = join(serviceDir, "python", "reference_scores.py");
/** Official weights mirror: $DEEPSAFE_WEIGHTS_MIRROR, default /work/shared/weights. */
export const weightsMirror = process.env.DEEPSAFE_WEIGHTS_MIRROR ?? "/work/shared/weights";
export const lfccWeightsDir = join(weightsMirror, "nii_lfcc_lcnn");

export function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

/** Why Python+torch cannot be used here, or undefined when it can. */
export function torchUnavailable(): string | undefined {
  const run = spawnSync(pythonBinary(), ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (run.error) return `cannot run ${pythonBinary()}: ${run.error.message}`;
  if (run.status !== 0) return `${pythonBinary()} has no torch/numpy (set DEEPSAFE_PYTHON)`;
  return undefined;
}

const tempDirs: string[] = [];
process.on("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp directory, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lfcc-lcnn-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runPython(args: string[], env: NodeJS.ProcessEnv = {}): ProcessResult {
  const run = spawnSync(pythonBinary(), args, {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { ...process.env, ...env },
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** python/export.py into a fresh temp dir; returns the dir. */
export function exportModel(variant: string, source: { checkpoint: string } | { randomSeed: number }): string {
  const out = tempDir(`onnx-${variant}`);
  const src = "checkpoint" in source ? ["--checkpoint", source.checkpoint] : ["--random-seed", String(source.randomSeed)];
  const run = runPython([exportScript, "--variant", variant, ...src, "--out", out]);
  if (run.status !== 0) throw new Error(`export.py failed (${run.status}): ${run.stderr.slice(-2000)}`);
  return out;
}

/** Same ffmpeg arguments as the SDK's decodeAudio (and python/reference_scores.py). */
export function ffmpegDecodeArgs(path: string, format: string | undefined, maxSeconds = 600): string[] {
  return [
    "-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file",
    ...(format ? ["-f", format] : []),
    "-i", path, "-t", String(maxSeconds + 1), "-vn", "-sn", "-dn", "-map", "0:a:0",
    "-ac", "1", "-ar", "16000", "-f", "f32le", "pipe:1",
  ];
}

export function ffmpegDecode(path: string, format?: string): { samples: Float32Array; sha256: string } {
  const run = spawnSync(process.env.DEEPSAFE_FFMPEG ?? "ffmpeg", ffmpegDecodeArgs(path, format), { maxBuffer: 256 << 20 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`ffmpeg could not decode ${path}: ${run.stderr.toString().slice(-500)}`);
  const buf = run.stdout;
  const samples = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2).slice();
  return { samples, sha256: createHash("sha256").update(buf).digest("hex") };
}

/** Render a lavfi audio source to a file with ffmpeg (codec chosen from extra output args). */
export function synthesize(out: string, lavfi: string, outputArgs: string[]): void {
  const run = spawnSync(
    process.env.DEEPSAFE_FFMPEG ?? "ffmpeg",
    ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", lavfi, ...outputArgs, out],
    { encoding: "utf8" },
  );
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`ffmpeg could not write ${out}: ${run.stderr.slice(-500)}`);
}

export function ffmpegUnavailable(): string | undefined {
  const run = spawnSync(process.env.DEEPSAFE_FFMPEG ?? "ffmpeg", ["-version"], { encoding: "utf8" });
  return run.error || run.status !== 0 ? "ffmpeg is not installed" : undefined;
}
