// Media type from magic bytes, so clients may leave media_type unspecified and so a declared
// type that contradicts the bytes is caught before any detector is called.
import { MediaType } from "@deepsafe/proto/es/common";

/** Bytes needed to recognise every format below (ftyp brands need the most). */
export const SNIFF_BYTES = 64;

export interface Sniffed {
  mime: string;
  mediaType: MediaType;
  /** Other media types the same container may legitimately hold (an MP4 may be audio only). */
  alsoPossible: MediaType[];
}

const { IMAGE, VIDEO, AUDIO } = MediaType;

function ascii(b: Uint8Array, start: number, end: number): string {
  return end <= b.length ? String.fromCharCode(...b.subarray(start, end)) : "";
}

function startsWith(b: Uint8Array, bytes: number[], offset = 0): boolean {
  return b.length >= offset + bytes.length && bytes.every((x, i) => b[offset + i] === x);
}

const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "avif", "avis"]);
const AUDIO_BRANDS = new Set(["M4A ", "M4B ", "M4P ", "F4A ", "F4B "]);

/** ISO BMFF (MP4, MOV, M4A, HEIF, AVIF): "ftyp" box first, then the major and compatible brands. */
function sniffFtyp(b: Uint8Array): Sniffed | undefined {
  if (ascii(b, 4, 8) !== "ftyp") return undefined;
  const major = ascii(b, 8, 12);
  const boxSize = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const brands = [major];
  for (let o = 16; o + 4 <= Math.min(boxSize, b.length); o += 4) brands.push(ascii(b, o, o + 4));
  if (HEIF_BRANDS.has(major)) {
    const avif = brands.includes("avif") || brands.includes("avis");
    return { mime: avif ? "image/avif" : "image/heic", mediaType: IMAGE, alsoPossible: [] };
  }
  if (AUDIO_BRANDS.has(major)) return { mime: "audio/mp4", mediaType: AUDIO, alsoPossible: [VIDEO] };
  if (major === "qt  ") return { mime: "video/quicktime", mediaType: VIDEO, alsoPossible: [AUDIO] };
  if (major.startsWith("3g")) return { mime: "video/3gpp", mediaType: VIDEO, alsoPossible: [AUDIO] };
  // isom, mp41, mp42, avc1, M4V, dash...: usually video, but audio-only MP4s exist.
  return { mime: "video/mp4", mediaType: VIDEO, alsoPossible: [AUDIO] };
}

/** MPEG audio frame header (MP3) or ADTS (AAC): 11 sync bits, then sane version/layer/rate fields. */
function isMpegAudioFrame(b: Uint8Array): boolean {
  if (b.length < 3 || b[0] !== 0xff || (b[1]! & 0xe0) !== 0xe0) return false;
  const version = (b[1]! >> 3) & 3;
  const layer = (b[1]! >> 1) & 3;
  if (layer === 0) return version === 0 || version === 2; // ADTS AAC (MPEG-4 or MPEG-2)
  if (version === 1) return false; // reserved
  const bitrate = b[2]! >> 4;
  const rate = (b[2]! >> 2) & 3;
  return bitrate !== 15 && rate !== 3;
}

/** Identify the container from the first bytes; undefined when unknown. */
export function sniff(b: Uint8Array): Sniffed | undefined {
  const one = (mime: string, mediaType: MediaType, alsoPossible: MediaType[] = []): Sniffed => ({ mime, mediaType, alsoPossible });
  if (startsWith(b, [0xff, 0xd8, 0xff])) return one("image/jpeg", IMAGE);
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return one("image/png", IMAGE);
  const head6 = ascii(b, 0, 6);
  if (head6 === "GIF87a" || head6 === "GIF89a") return one("image/gif", IMAGE);
  if (ascii(b, 0, 4) === "RIFF") {
    const form = ascii(b, 8, 12);
    if (form === "WEBP") return one("image/webp", IMAGE);
    if (form === "AVI ") return one("video/x-msvideo", VIDEO, [AUDIO]);
    if (form === "WAVE") return one("audio/wav", AUDIO);
    return undefined;
  }
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return one("image/tiff", IMAGE);
  if (ascii(b, 0, 2) === "BM" && b.length >= 18) {
    // "BM" alone is too weak: also require a known DIB header size.
    const dib = b[14]! | (b[15]! << 8) | (b[16]! << 16) | (b[17]! << 24);
    if ([12, 40, 52, 56, 64, 108, 124].includes(dib)) return one("image/bmp", IMAGE);
  }
  const ftyp = sniffFtyp(b);
  if (ftyp) return ftyp;
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) {
    const webm = Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes("webm");
    return one(webm ? "video/webm" : "video/x-matroska", VIDEO, [AUDIO]);
  }
  if (ascii(b, 0, 4) === "fLaC") return one("audio/flac", AUDIO);
  if (ascii(b, 0, 4) === "OggS") return one("audio/ogg", AUDIO, [VIDEO]);
  if (ascii(b, 0, 3) === "ID3") return one("audio/mpeg", AUDIO);
  if (isMpegAudioFrame(b)) return one((b[1]! & 0x06) === 0 ? "audio/aac" : "audio/mpeg", AUDIO);
  return undefined;
}

/** True when the bytes may hold the declared media type (unknown formats are not contradicted). */
export function compatible(s: Sniffed | undefined, declared: MediaType): boolean {
  return !s || s.mediaType === declared || s.alsoPossible.includes(declared);
}
