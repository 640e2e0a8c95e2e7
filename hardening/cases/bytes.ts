// Byte surgery shared by the generators: deterministic noise, overwriting, PNG chunks.
import { deflateSync } from "node:zlib";

/** Deterministic pseudo-random bytes (an LCG: the same cases on every run). */
export function noise(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    out[i] = x >>> 16;
  }
  return out;
}

/** A copy with bytes [from, from + with.length) replaced. */
export function overwrite(bytes: Buffer, from: number, with_: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  with_.copy(copy, from, 0, Math.max(0, Math.min(with_.length, copy.length - from)));
  return copy;
}

/** The first `fraction` of the file. */
export const truncate = (bytes: Buffer, fraction: number): Buffer => bytes.subarray(0, Math.max(1, Math.floor(bytes.length * fraction)));

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

export function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const PNG_SIGNATURE = Buffer.from("\x89PNG\r\n\x1a\n", "latin1");

/**
 * A PNG whose header says width x height. With `realRows`, the IDAT really holds that many rows of
 * a 1-bit grey image (a genuine decompression bomb: 20000² pixels in ~60 KB); otherwise a token IDAT.
 */
export function pngBomb(width: number, height: number, realRows = false): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set(realRows ? [1, 0, 0, 0, 0] : [8, 2, 0, 0, 0], 8); // 1-bit grey, or 8-bit RGB
  const idat = realRows ? deflateSync(Buffer.alloc(height * (1 + Math.ceil(width / 8))), { level: 9 }) : deflateSync(Buffer.alloc(1024));
  return Buffer.concat([PNG_SIGNATURE, pngChunk("IHDR", ihdr), pngChunk("IDAT", idat), pngChunk("IEND", Buffer.alloc(0))]);
}
