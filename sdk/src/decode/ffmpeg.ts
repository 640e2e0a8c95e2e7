// Running ffmpeg on untrusted input: local files only (no network, no playlist/concat tricks),
// a forced demuxer, a wall-clock timeout and a cap on the bytes it may produce.
import { spawn } from "node:child_process";
import { InvalidMediaError, ResourceExhaustedError } from "../errors.js";

export const ffmpegBinary = process.env.DEEPSAFE_FFMPEG ?? "ffmpeg";

export interface FfmpegRun {
  /** Input file (already written by us) and the demuxer to force for it. */
  input: string;
  format: string;
  /** Output arguments, ending with the output (normally pipe:1). */
  output: string[];
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
}

export function runFfmpeg(run: FfmpegRun): Promise<Buffer> {
  const args = [
    "-nostdin", "-hide_banner", "-loglevel", "error",
    "-protocol_whitelist", "file",
    "-f", run.format, "-i", run.input,
    ...run.output,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegBinary, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let failure: Error | undefined;
    const stop = (err: Error) => {
      failure ??= err;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => stop(new InvalidMediaError(`decoding took longer than ${run.timeoutMs} ms`)), run.timeoutMs);
    const onAbort = () => stop(new InvalidMediaError("decoding cancelled"));
    run.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > run.maxOutputBytes) stop(new ResourceExhaustedError("decoded media is over the size limit"));
      else out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4000) stderr += chunk.toString();
    });
    child.on("error", (err) => stop(new Error(`cannot run ${ffmpegBinary}: ${err.message}`)));
    child.on("close", (code) => {
      clearTimeout(timer);
      run.signal?.removeEventListener("abort", onAbort);
      if (failure) return reject(failure);
      if (code !== 0) {
        const reason = stderr.trim().split("\n").map((l) => l.trim()).filter(Boolean).join(" / ") || `exit code ${code}`;
        return reject(new InvalidMediaError(`cannot decode media: ${reason.replaceAll(run.input, "<input>").slice(0, 300)}`));
      }
      resolve(Buffer.concat(out, size));
    });
  });
}
