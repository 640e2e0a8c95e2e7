// Real encoders for the valid starting points (sharp for stills, ffmpeg for audio and video), writing
// into one temp folder per test process; nothing generated is committed.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";

export const workDir = mkdtempSync(join(tmpdir(), "deepsafe-hostile-"));

/** Run ffmpeg with lavfi sources; returns the file it wrote. */
export function ffmpeg(args: string[], out: string): Buffer {
  const path = join(workDir, out);
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", ...args, path]);
  return readFileSync(path);
}

/** Write bytes into the work folder (an input for ffmpeg); returns the path. */
export function saveTemp(name: string, bytes: Buffer): string {
  const path = join(workDir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A smooth RGB test picture (w x h) as raw pixels. */
function picture(width: number, height: number): Buffer {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      raw[i] = (x * 255) / width;
      raw[i + 1] = (y * 255) / height;
      raw[i + 2] = ((x ^ y) * 7) & 0xff;
    }
  }
  return raw;
}

export const STILL_FORMATS = ["jpeg", "png", "webp", "gif", "tiff"] as const;
export type StillFormat = (typeof STILL_FORMATS)[number];

/** A valid still in each format, 192x160 (small: the suite runs hundreds of them). */
export async function still(format: StillFormat, width = 192, height = 160): Promise<Buffer> {
  return sharp(picture(width, height), { raw: { width, height, channels: 3 } }).toFormat(format).toBuffer();
}
