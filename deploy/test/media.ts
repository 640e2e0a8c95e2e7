// Test media made by real encoders (ffmpeg, sharp) into a temp folder, plus deliberately broken files.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

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

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A well-formed PNG of a few hundred bytes whose header declares width x height pixels. */
export function pixelBomb(width = 100_000, height = 100_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from("\x89PNG\r\n\x1a\n", "latin1"),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", deflateSync(Buffer.alloc(1024))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Deterministic pseudo-random bytes (not any media format). */
export function randomBytes(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  return out;
}

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
