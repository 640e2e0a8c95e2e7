// Test helpers of the audio services (exported as `audioTesting`): Python (torch) discovery and runs,
// python/export.py into temp dirs, ffmpeg decoding with the SDK's arguments (the same ones as
// sdk/python/deepsafe_audio.py), test audio from ffmpeg's lavfi sources, and small fixtures (predict
// contexts, decoded clips, converted-model directories).
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { PredictResponse } from "@deepsafe/proto/grpc/detector";
import { createDetectorClient, predictBytes } from "../client.js";
import { decodeAudio, type DecodedAudio } from "../decode/audio.js";
import type { DetectorModel, PredictContext } from "../model.js";
import { serveDetector } from "../server.js";
import { pythonBinary } from "./prepare.js";
import { AUDIO_SAMPLE_RATE, scoreClip, type ClipScore, type WindowInference } from "./windows.js";

export { pythonBinary };

/** Why Python+torch cannot be used here, or undefined when it can. */
export function torchUnavailable(): string | undefined {
  const run = spawnSync(pythonBinary(), ["-c", "import torch, numpy"], { encoding: "utf8" });
  if (run.error) return `cannot run ${pythonBinary()}: ${run.error.message}`;
  if (run.status !== 0) return `${pythonBinary()} has no torch/numpy (set DEEPSAFE_PYTHON)`;
  return undefined;
}

const tempDirs: string[] = [];

/** A fresh temp directory named <prefix>-…, removed when the test process exits. */
export function tempDir(prefix: string): string {
  if (tempDirs.length === 0) {
    process.on("exit", () => {
      for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
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

/** Official weights mirror for tests: $DEEPSAFE_WEIGHTS_MIRROR, default /work/shared/weights. */
export const weightsMirror = process.env.DEEPSAFE_WEIGHTS_MIRROR ?? "/work/shared/weights";

/** Official weights, or random weights of the same layout (a test fixture). */
export type ExportSource = { checkpoint: string } | { randomSeed: number };

/** `exportScript --variant V (--checkpoint F | --random-seed N) --out <out>`; returns out. */
export function exportModel(exportScript: string, variant: string, source: ExportSource, out: string): string {
  const src = "checkpoint" in source ? ["--checkpoint", source.checkpoint] : ["--random-seed", String(source.randomSeed)];
  const run = runPython([exportScript, "--variant", variant, ...src, "--out", out]);
  if (run.status !== 0) throw new Error(`export.py failed (${run.status}): ${run.stderr.slice(-2000)}`);
  return out;
}

/**
 * The paths and helpers one service's tests share: its folder, python/export.py and
 * python/reference_scores.py, temp dirs named <name>-<prefix>-…, and export.py into a fresh temp dir.
 */
export function forService(serviceUrl: URL, name: string) {
  const serviceDir = fileURLToPath(serviceUrl);
  const exportScript = join(serviceDir, "python", "export.py");
  const serviceTempDir = (prefix: string) => tempDir(`${name}-${prefix}`);
  return {
    serviceDir,
    exportScript,
    referenceScript: join(serviceDir, "python", "reference_scores.py"),
    tempDir: serviceTempDir,
    exportModel: (variant: string, source: ExportSource) => exportModel(exportScript, variant, source, serviceTempDir(`onnx-${variant}`)),
  };
}

const ffmpeg = () => process.env.DEEPSAFE_FFMPEG ?? "ffmpeg";

/** Same ffmpeg arguments as the SDK's decodeAudio (and sdk/python/deepsafe_audio.py). */
export function ffmpegDecodeArgs(path: string, format: string | undefined, maxSeconds = 600): string[] {
  return [
    "-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file",
    ...(format ? ["-f", format] : []),
    "-i", path, "-t", String(maxSeconds + 1), "-vn", "-sn", "-dn", "-map", "0:a:0",
    "-ac", "1", "-ar", String(AUDIO_SAMPLE_RATE), "-f", "f32le", "pipe:1",
  ];
}

/** A file decoded with ffmpegDecodeArgs: mono 16 kHz float32 samples and the sha256 of their bytes. */
export function ffmpegDecode(path: string, format?: string): { samples: Float32Array; sha256: string } {
  const run = spawnSync(ffmpeg(), ffmpegDecodeArgs(path, format), { maxBuffer: 256 << 20 });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`ffmpeg could not decode ${path}: ${run.stderr.toString().slice(-500)}`);
  const buf = run.stdout;
  const samples = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2).slice();
  return { samples, sha256: createHash("sha256").update(buf).digest("hex") };
}

/** Why a parity test with official weights cannot run here (no weights folder, no torch, no ffmpeg), or undefined. */
export function parityUnavailable(weightsDir: string): string | undefined {
  if (!existsSync(weightsDir)) return `official weights directory ${weightsDir} is absent (set DEEPSAFE_WEIGHTS_MIRROR)`;
  return torchUnavailable() ?? ffmpegUnavailable();
}

/** A file decoded by the SDK's decodeAudio as the services decode uploads: the sha256 of its samples, and its rate. */
export async function sdkDecode(path: string): Promise<{ sha256: string; sampleRate: number }> {
  const decoded = await decodeAudio(readFileSync(path), { maxSeconds: 600 });
  return { sha256: samplesSha256(decoded.samples), sampleRate: decoded.sampleRate };
}

/** sha256 of float32 samples' bytes (what ffmpegDecode and the Python references report). */
export function samplesSha256(samples: Float32Array): string {
  return createHash("sha256").update(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)).digest("hex");
}

/** Render a lavfi audio source to a file with ffmpeg (codec chosen from extra output args). */
export function synthesize(out: string, lavfi: string, outputArgs: string[]): void {
  const run = spawnSync(
    ffmpeg(),
    ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", lavfi, ...outputArgs, out],
    { encoding: "utf8" },
  );
  if (run.error) throw run.error;
  if (run.status !== 0) throw new Error(`ffmpeg could not write ${out}: ${run.stderr.slice(-500)}`);
}

export function ffmpegUnavailable(): string | undefined {
  const run = spawnSync(ffmpeg(), ["-version"], { encoding: "utf8" });
  return run.error || run.status !== 0 ? "ffmpeg is not installed" : undefined;
}

/** A PredictContext for calling predict() directly. */
export function predictContext(threshold = 0.5): PredictContext {
  return {
    requestId: "t",
    threshold,
    options: {},
    mimeType: "audio/wav",
    fileName: "x.wav",
    signal: new AbortController().signal,
  };
}

/** 16 kHz samples as the SDK hands them to predict(). */
export function decodedAudio(samples: Float32Array): DecodedAudio {
  return { samples, sampleRate: AUDIO_SAMPLE_RATE, durationSeconds: samples.length / AUDIO_SAMPLE_RATE };
}

/** A 300 Hz sine of `seconds` at 16 kHz. */
export function tone(seconds: number, amplitude = 0.3): Float32Array {
  return Float32Array.from({ length: Math.round(seconds * AUDIO_SAMPLE_RATE) }, (_, i) => amplitude * Math.sin((2 * Math.PI * 300 * i) / AUDIO_SAMPLE_RATE));
}

/** The report of a raw-waveform PyTorch reference (write_scores of sdk/python/deepsafe_audio.py). */
export interface WaveformReference {
  variant: string;
  checkpointSha256: string;
  secondsPerWindow: number;
  files: Array<{
    path: string;
    samples: number;
    samplesSha256: string;
    starts: number[];
    padded: boolean;
    subsampled: boolean;
    logits: [number, number][];
    probabilityFake: number[];
    clipProbabilityFake: number;
  }>;
}

/**
 * Score decoded clips with `infer` (scoreClip, default windows) and check each against the reference's
 * record of the same clip (same order): identical samples, window starts and padding, clip P(fake)
 * within `tolerance`; throws naming the clip otherwise. Returns the scores, the largest |Δlogit| over all
 * windows, the number of windows and the seconds spent in `infer`.
 */
export async function compareWithWaveformReference(
  clips: ReadonlyArray<{ name: string; samples: Float32Array; sha256: string }>,
  reference: WaveformReference,
  infer: WindowInference,
  tolerance: number,
): Promise<{ scores: ClipScore[]; maxDelta: number; windows: number; inferSeconds: number }> {
  let maxDelta = 0;
  let windows = 0;
  let inferSeconds = 0;
  const timed: WindowInference = async (w) => {
    const t0 = performance.now();
    const out = await infer(w);
    inferSeconds += (performance.now() - t0) / 1000;
    return out;
  };
  const scores: ClipScore[] = [];
  for (const [i, clip] of clips.entries()) {
    const r = reference.files[i];
    const fail = (what: string) => new Error(`${clip.name}: ${what}`);
    if (!r) throw fail("no reference record");
    if (r.samples !== clip.samples.length) throw fail(`sample count ${clip.samples.length}, reference ${r.samples}`);
    if (r.samplesSha256 !== clip.sha256) throw fail("Python and TS decoded different samples");
    const score = await scoreClip(clip.samples, timed);
    if (JSON.stringify(score.plan.starts) !== JSON.stringify(r.starts)) throw fail(`window starts ${score.plan.starts}, reference ${r.starts}`);
    if (score.plan.padded !== r.padded) throw fail(`padded ${score.plan.padded}, reference ${r.padded}`);
    for (const [k, w] of score.windows.entries()) {
      const [a, b] = r.logits[k]!;
      maxDelta = Math.max(maxDelta, Math.abs(w.logits[0] - a), Math.abs(w.logits[1] - b));
      windows++;
    }
    if (!(Math.abs(score.probabilityFake - r.clipProbabilityFake) <= tolerance)) {
      throw fail(`clip P(fake) ${score.probabilityFake}, reference ${r.clipProbabilityFake}`);
    }
    scores.push(score);
  }
  return { scores, maxDelta, windows, inferSeconds };
}

/** Clips every audio detector abstains on, each with what its note must say: empty, 0.2 s, 3 s of digital silence. */
export function unscorableClips(): Array<[Float32Array, RegExp]> {
  return [
    [new Float32Array(0), /no audio samples/],
    [tone(0.2), /too short/],
    [new Float32Array(3 * AUDIO_SAMPLE_RATE), /silent/],
  ];
}

/**
 * Serve `model` on a free port (no metrics, no signal handlers, one thread) with its weights from
 * `modelDir`, upload `file` over gRPC, and drain: the detector's response.
 */
export async function predictOverGrpc(model: DetectorModel<unknown>, modelDir: string, file: string, threshold = 0.5): Promise<PredictResponse> {
  const handle = await serveDetector(model, { port: 0, metricsPort: -1, handleSignals: false, modelDir, intraOpThreads: 1 });
  try {
    const client = createDetectorClient(`127.0.0.1:${handle.port}`);
    try {
      return await predictBytes(client, { header: { threshold }, bytes: readFileSync(file) });
    } finally {
      client.close();
    }
  } finally {
    await handle.drain();
  }
}

/** Write a converted-model directory by hand: provenance.json and the given files (default a fake model.onnx). */
export function writeModelDir(dir: string, provenance: object, files: Record<string, string> = { "model.onnx": "fake graph" }): string {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  writeFileSync(join(dir, "provenance.json"), JSON.stringify(provenance));
  return dir;
}

/** The message `run` rejects with, or "" when it resolves. */
export async function rejectionMessage(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (err) {
    return (err as Error).message;
  }
  return "";
}
