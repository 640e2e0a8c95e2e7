// Video to N evenly spaced RGB frames with ffmpeg, in one decoding pass.
//
// 1. The bytes are sniffed (magic bytes, never the client's claim) and written to a temp file: MP4
//    keeps its index at the end, so ffmpeg needs a seekable file, not a pipe.
// 2. ffprobe reads the headers (same hardening as decoding: local files only, forced demuxer) for the
//    video stream's size, rotation, frame rate and duration; limits are checked before any decoding.
// 3. One ffmpeg run decodes the stream once and keeps the first frame at or after each of N equidistant
//    instants k·D/N (k = 0..N-1, D = duration, timestamps rebased so the first frame is t = 0). This
//    works for variable frame rate, and a clip with fewer frames than N gives each of its frames once
//    (no duplicates). Rotation metadata is applied as ffmpeg does by default (autorotate), then the frame
//    is optionally shrunk so its longer side is at most maxSide, and written as raw RGB24 to a pipe.
//    The presentation time of every kept frame comes back through ffmpeg's metadata filter.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { InvalidMediaError } from "../errors.js";
import { ffmpegBinary, runFfmpeg } from "./ffmpeg.js";
import { sniffMedia, SNIFF_BYTES } from "./sniff.js";

/** ffprobe next to the configured ffmpeg (DEEPSAFE_FFPROBE overrides). */
export const ffprobeBinary =
  process.env.DEEPSAFE_FFPROBE ??
  (basename(ffmpegBinary) === "ffmpeg" && ffmpegBinary.includes("/") ? join(dirname(ffmpegBinary), "ffprobe") : "ffprobe");

export interface VideoFrame {
  /** Position among the returned frames (0-based). */
  index: number;
  /** Presentation time in seconds from the first video frame. */
  timeSeconds: number;
  /** Interleaved RGB, 8 bits per channel, row-major (HWC). */
  data: Buffer;
  width: number;
  height: number;
}

export interface DecodedVideo {
  /** In time order. */
  frames: VideoFrame[];
  /** Duration of the video stream (container duration when the stream has none). */
  durationSeconds: number;
  /** Average frame rate (0 when unknown). */
  fps: number;
  /** Size of the returned frames: after rotation and downscaling. */
  width: number;
  height: number;
  /** Display size of the source (after rotation, before downscaling). */
  sourceWidth: number;
  sourceHeight: number;
  /** Rotation applied, degrees clockwise (0, 90, 180, 270). */
  rotation: number;
  /** Frames in the stream as the container declares them, else estimated from duration × fps. */
  frameCount: number;
}

export interface DecodeVideoOptions {
  /** Evenly spaced frames to return (default 30; fewer when the video has fewer frames). */
  frames?: number;
  /** Shrink frames so that the longer side is at most this (default 1280; 0 keeps the size). */
  maxSide?: number;
  /** Longer videos are rejected (default 600 s). */
  maxSeconds?: number;
  /** Largest accepted source frame in pixels (default 40 Mpx). */
  maxPixels?: number;
  /** Wall-clock limit for probing plus decoding (default 120 s). */
  timeoutMs?: number;
  /** Cap on the decoded bytes (default: exactly what N frames need). */
  maxOutputBytes?: number;
  signal?: AbortSignal;
}

export const DEFAULT_VIDEO_FRAMES = 30;
export const MAX_VIDEO_FRAMES = 1000;

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  duration?: string;
  nb_frames?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number }[];
  disposition?: { attached_pic?: number };
}

interface Probe {
  streams?: ProbeStream[];
  format?: { duration?: string };
}

/** ffprobe with the decoder's hardening: local files only, the sniffed demuxer forced. */
function runFfprobe(input: string, format: string, args: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const argv = ["-v", "error", "-hide_banner", "-protocol_whitelist", "file", "-f", format, ...args, input];
  return new Promise((resolve, reject) => {
    const child = spawn(ffprobeBinary, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let failure: Error | undefined;
    const stop = (e: Error) => {
      failure ??= e;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(() => stop(new InvalidMediaError(`probing took longer than ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => stop(new InvalidMediaError("decoding cancelled"));
    signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      if (out.length > 8_000_000) stop(new InvalidMediaError("probe output is over the size limit"));
    });
    child.stderr.on("data", (c: Buffer) => {
      if (err.length < 4000) err += c.toString();
    });
    child.on("error", (e) => stop(new Error(`cannot run ${ffprobeBinary}: ${e.message}`)));
    child.on("close", (code) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (failure) return reject(failure);
      if (code !== 0) {
        const reason = err.trim().split("\n").map((l) => l.trim()).filter(Boolean).join(" / ") || `exit code ${code}`;
        return reject(new InvalidMediaError(`truncated or corrupt video: ${reason.replaceAll(input, "<input>").slice(0, 300)}`));
      }
      resolve(out);
    });
  });
}

function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [n, d] = rate.split("/").map(Number);
  if (!Number.isFinite(n) || !n) return 0;
  const value = d === undefined ? n : d ? n / d : 0;
  return Number.isFinite(value) && value > 0 && value < 10_000 ? value : 0;
}

function positive(value: string | undefined): number | undefined {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** Clockwise rotation ffmpeg's autorotate applies, from the display matrix (or the old "rotate" tag). */
function rotationOf(stream: ProbeStream): number {
  const side = stream.side_data_list?.find((s) => typeof s.rotation === "number");
  // The display matrix rotation is counter-clockwise; the legacy tag is clockwise.
  const ccw = side ? Number(side.rotation) : -Number(stream.tags?.rotate ?? 0);
  if (!Number.isFinite(ccw)) return 0;
  const cw = (((Math.round(-ccw / 90) * 90) % 360) + 360) % 360;
  return cw;
}

/** Longer side at most maxSide, aspect kept, even numbers not needed (RGB24 has no chroma subsampling). */
export function outputSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longer = Math.max(width, height);
  if (!maxSide || longer <= maxSide) return { width, height };
  const scale = maxSide / longer;
  return {
    width: Math.max(1, width >= height ? maxSide : Math.round(width * scale)),
    height: Math.max(1, height > width ? maxSide : Math.round(height * scale)),
  };
}

/** Duration from the packet timestamps, for containers whose headers carry none (live WebM, some AVI). */
async function durationFromPackets(input: string, format: string, timeoutMs: number, signal?: AbortSignal): Promise<number> {
  const csv = await runFfprobe(
    input,
    format,
    ["-select_streams", "v:0", "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0"],
    timeoutMs,
    signal,
  );
  let first = Infinity;
  let last = -Infinity;
  for (const line of csv.split("\n")) {
    const [pts, dur] = line.split(",");
    const t = Number(pts);
    if (!pts || !Number.isFinite(t)) continue;
    first = Math.min(first, t);
    last = Math.max(last, t + (Number(dur) || 0));
  }
  return last > first ? last - first : 0;
}

export async function decodeVideo(bytes: Buffer, options: DecodeVideoOptions = {}): Promise<DecodedVideo> {
  if (bytes.length === 0) throw new InvalidMediaError("empty video file");
  const wanted = Math.floor(options.frames ?? DEFAULT_VIDEO_FRAMES);
  if (!(wanted >= 1 && wanted <= MAX_VIDEO_FRAMES)) throw new RangeError(`frames must be 1..${MAX_VIDEO_FRAMES}, got ${options.frames}`);
  const maxSide = options.maxSide ?? 1280;
  const maxSeconds = options.maxSeconds ?? 600;
  const maxPixels = options.maxPixels ?? 40_000_000;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const started = Date.now();
  const remaining = () => Math.max(1, timeoutMs - (Date.now() - started));

  const checkCancelled = () => {
    if (options.signal?.aborted) throw new InvalidMediaError("decoding cancelled");
  };
  checkCancelled();
  const sniffed = sniffMedia(bytes.subarray(0, SNIFF_BYTES));
  if (!sniffed?.ffmpegFormat) {
    throw new InvalidMediaError(`not a supported video container${sniffed ? ` (${sniffed.mime})` : ""}`);
  }
  if (sniffed.media !== "video" && !sniffed.alsoPossible.includes("video")) {
    throw new InvalidMediaError(`not a video: the file is ${sniffed.mime}`);
  }
  const format = sniffed.ffmpegFormat;

  const dir = await mkdtemp(join(tmpdir(), "deepsafe-video-"));
  const input = join(dir, "input");
  const timesFile = join(dir, "times.txt");
  try {
    await writeFile(input, bytes);
    checkCancelled();

    // --- probe: headers only
    const probe = JSON.parse(
      await runFfprobe(input, format, ["-show_streams", "-show_format", "-of", "json"], remaining(), options.signal),
    ) as Probe;
    const stream = probe.streams?.find((s) => s.codec_type === "video" && !s.disposition?.attached_pic);
    if (!stream) throw new InvalidMediaError("no video stream in the file");
    const codedWidth = stream.width ?? 0;
    const codedHeight = stream.height ?? 0;
    if (codedWidth <= 0 || codedHeight <= 0) throw new InvalidMediaError("the video stream has no frame size (corrupt header)");
    if (codedWidth * codedHeight > maxPixels) {
      throw new InvalidMediaError(`video frames are ${codedWidth}x${codedHeight}, over the limit of ${maxPixels} pixels`);
    }
    const rotation = rotationOf(stream);
    const [sourceWidth, sourceHeight] = rotation % 180 ? [codedHeight, codedWidth] : [codedWidth, codedHeight];
    const fps = parseRate(stream.avg_frame_rate) || parseRate(stream.r_frame_rate);
    let durationSeconds = positive(stream.duration) ?? positive(probe.format?.duration) ?? 0;
    if (!durationSeconds) durationSeconds = await durationFromPackets(input, format, remaining(), options.signal);
    if (durationSeconds > maxSeconds) {
      throw new InvalidMediaError(`video is ${durationSeconds.toFixed(1)} s long, over the limit of ${maxSeconds} s`);
    }
    const declaredFrames = positive(stream.nb_frames);
    const frameCount = declaredFrames ?? (fps && durationSeconds ? Math.round(fps * durationSeconds) : 0);

    // --- one decoding pass
    checkCancelled();
    const { width, height } = outputSize(sourceWidth, sourceHeight, maxSide);
    const frameBytes = width * height * 3;
    // Unknown duration (a single frame, or no timestamps at all): fall back to keeping frames in order.
    const step = durationSeconds > 0 ? durationSeconds / wanted : 0;
    const bucket = (t: string) => (step > 0 ? `floor(${t}/${step})` : "n");
    const select =
      step > 0
        ? `lt(${bucket("t")},${wanted})*(isnan(prev_selected_t)+gt(${bucket("t")},${bucket("prev_selected_t")}))`
        : "1";
    const filters = [
      "setpts=PTS-STARTPTS",
      `select='${select}'`,
      ...(width !== sourceWidth || height !== sourceHeight ? [`scale=${width}:${height}:flags=bicubic`] : []),
      "metadata=mode=add:key=deepsafe:value=1",
      `metadata=mode=print:file='${timesFile.replaceAll("\\", "/").replaceAll("'", "")}'`,
    ];
    const limitBytes = Math.min(options.maxOutputBytes ?? Infinity, wanted * frameBytes);
    const raw = await runFfmpeg({
      input,
      format,
      output: [
        "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", filters.join(","),
        "-frames:v", String(wanted),
        "-vsync", "passthrough",
        "-pix_fmt", "rgb24", "-f", "rawvideo", "pipe:1",
      ],
      timeoutMs: remaining(),
      maxOutputBytes: limitBytes,
      signal: options.signal,
    }).catch((err: unknown) => {
      if (err instanceof InvalidMediaError && /^cannot decode media/.test(err.message)) {
        throw new InvalidMediaError(err.message.replace(/^cannot decode media/, "truncated or corrupt video"));
      }
      throw err;
    });
    const count = Math.floor(raw.length / frameBytes);
    if (count === 0) throw new InvalidMediaError("no frame could be decoded from the video (truncated or corrupt)");

    const times = (await readFile(timesFile, "utf8").catch(() => ""))
      .split("\n")
      .map((line) => /pts_time:(\S+)/.exec(line)?.[1])
      .filter((t): t is string => t !== undefined)
      .map(Number);
    const frames: VideoFrame[] = [];
    for (let i = 0; i < count; i++) {
      const t = times[i];
      frames.push({
        index: i,
        timeSeconds: t !== undefined && Number.isFinite(t) ? t : step * i,
        data: raw.subarray(i * frameBytes, (i + 1) * frameBytes),
        width,
        height,
      });
    }
    return { frames, durationSeconds, fps, width, height, sourceWidth, sourceHeight, rotation, frameCount };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
