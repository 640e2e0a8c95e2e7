// Test media made by real encoders (ffmpeg, sharp) into a temp folder, plus deliberately broken files
// (their byte surgery is the hardening suites': hardening/cases/bytes.ts).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noise, pngBomb } from "../../hardening/cases/bytes.js";

const dir = mkdtempSync(join(tmpdir(), "deepsafe-media-"));

function ffmpeg(args: string[], out: string): Buffer {
  const path = join(dir, out);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args, path]);
  return readFileSync(path);
}

/** A 1280x720 JPEG of ffmpeg's test pattern with film grain. */
export const photoJpeg = (): Buffer =>
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=1,noise=alls=20:allf=t", "-frames:v", "1", "-q:v", "3"], "photo.jpg");

/** An odd-sized PNG (333x251). */
export const photoPng = (): Buffer =>
  ffmpeg(["-f", "lavfi", "-i", "mandelbrot=size=333x251:rate=1", "-frames:v", "1"], "photo.png");

/** A well-formed PNG of a few hundred bytes whose header declares width x height pixels. */
export const pixelBomb = (width = 100_000, height = 100_000): Buffer => pngBomb(width, height);

/** Deterministic pseudo-random bytes (not any media format). */
export const randomBytes = (size: number, seed = 7): Buffer => noise(size, seed);

/** Speech from ffmpeg's flite synthesiser (itself a text-to-speech "fake"), in the given container. */
export const speech = (ext: "wav" | "mp3" | "m4a", text = "The quick brown fox jumps over the lazy dog. DeepSafe checks audio too."): Buffer =>
  ffmpeg(["-f", "lavfi", "-i", `flite=text='${text}'`, "-ar", "16000"], `speech.${ext}`);

/** A WAV file with a valid header and no samples. */
export const emptyWav = (): Buffer =>
  ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0"], "empty.wav");

/** An MP4 with a video track and no audio track. */
export const silentVideo = (): Buffer =>
  ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=10", "-t", "1", "-pix_fmt", "yuv420p", "-an"], "video-only.mp4");

/** An hour of silence as a small MP3 (8 kbit/s). */
export const hourOfSilence = (): Buffer =>
  ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3600", "-b:a", "8k"], "hour.mp3");
