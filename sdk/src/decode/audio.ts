// Audio (or the audio track of a video) to 16 kHz mono float32 with ffmpeg.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidMediaError } from "../errors.js";
import { runFfmpeg } from "./ffmpeg.js";
import { sniffMedia } from "./sniff.js";

export interface DecodedAudio {
  /** Mono PCM in [-1, 1]. */
  samples: Float32Array;
  sampleRate: number;
  durationSeconds: number;
}

export interface DecodeAudioOptions {
  sampleRate?: number;
  /** Longer media is rejected (not silently truncated). */
  maxSeconds: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export async function decodeAudio(bytes: Buffer, options: DecodeAudioOptions): Promise<DecodedAudio> {
  if (bytes.length === 0) throw new InvalidMediaError("empty audio file");
  const sniffed = sniffMedia(bytes.subarray(0, 64));
  if (!sniffed?.ffmpegFormat || sniffed.media === "image") {
    throw new InvalidMediaError(`not a supported audio or video container${sniffed ? ` (${sniffed.mime})` : ""}`);
  }
  const sampleRate = options.sampleRate ?? 16000;
  // Containers such as MP4 keep their index at the end, so ffmpeg needs a seekable file, not a pipe.
  const dir = await mkdtemp(join(tmpdir(), "deepsafe-audio-"));
  const input = join(dir, "input");
  try {
    await writeFile(input, bytes);
    const pcm = await runFfmpeg({
      input,
      format: sniffed.ffmpegFormat,
      // Decode slightly past the limit so "too long" is detected rather than silently cut.
      output: ["-t", String(options.maxSeconds + 1), "-vn", "-sn", "-dn", "-map", "0:a:0",
        "-ac", "1", "-ar", String(sampleRate), "-f", "f32le", "pipe:1"],
      timeoutMs: options.timeoutMs ?? 60_000,
      maxOutputBytes: (options.maxSeconds + 2) * sampleRate * 4,
      signal: options.signal,
    }).catch((err: unknown) => {
      if (err instanceof InvalidMediaError && /matches no streams|does not contain any stream/i.test(err.message)) {
        throw new InvalidMediaError("the file has no audio track");
      }
      throw err;
    });
    const samples = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength >> 2).slice();
    const durationSeconds = samples.length / sampleRate;
    if (durationSeconds > options.maxSeconds) {
      throw new InvalidMediaError(`audio is longer than the limit of ${options.maxSeconds} s`);
    }
    return { samples, sampleRate, durationSeconds };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
