// Media type from magic bytes: a client's MIME type or file extension is a claim, the bytes are the
// fact. Used by the gateway (routing, contradiction checks) and by ffmpeg decoding (forced demuxer).
export type SniffedMedia = "image" | "video" | "audio";

/** Bytes needed to recognise every format below (ftyp brands need the most). */
export const SNIFF_BYTES = 64;

export interface Sniffed {
  media: SniffedMedia;
  /** Canonical MIME type. */
  mime: string;
  /** Other media the same container may legitimately hold (an MP4 may be audio only). */
  alsoPossible: SniffedMedia[];
  /** ffmpeg demuxer to force (-f) for audio and video containers. */
  ffmpegFormat?: string;
}

function ascii(b: Uint8Array, start: number, end: number): string {
  return end <= b.length ? String.fromCharCode(...b.subarray(start, end)) : "";
}

function startsWith(b: Uint8Array, bytes: number[], offset = 0): boolean {
  return b.length >= offset + bytes.length && bytes.every((x, i) => b[offset + i] === x);
}

const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1", "avif", "avis"]);
const AUDIO_BRANDS = new Set(["M4A ", "M4B ", "M4P ", "F4A ", "F4B "]);

const image = (mime: string): Sniffed => ({ media: "image", mime, alsoPossible: [] });
const av = (media: SniffedMedia, mime: string, ffmpegFormat: string, alsoPossible: SniffedMedia[] = []): Sniffed => ({
  media,
  mime,
  alsoPossible,
  ffmpegFormat,
});

/** ISO BMFF (MP4, MOV, M4A, HEIF, AVIF): "ftyp" box first, then the major and compatible brands. */
function sniffFtyp(b: Uint8Array): Sniffed | undefined {
  if (ascii(b, 4, 8) !== "ftyp") return undefined;
  const major = ascii(b, 8, 12);
  const boxSize = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  const brands = [major];
  for (let o = 16; o + 4 <= Math.min(boxSize, b.length); o += 4) brands.push(ascii(b, o, o + 4));
  if (HEIF_BRANDS.has(major)) return image(brands.includes("avif") || brands.includes("avis") ? "image/avif" : "image/heic");
  if (AUDIO_BRANDS.has(major)) return av("audio", "audio/mp4", "mov", ["video"]);
  if (major === "qt  ") return av("video", "video/quicktime", "mov", ["audio"]);
  if (major.startsWith("3g")) return av("video", "video/3gpp", "mov", ["audio"]);
  // isom, mp41, mp42, avc1, M4V, dash...: usually video, but audio-only MP4s exist.
  return av("video", "video/mp4", "mov", ["audio"]);
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

/** Identify the container from the first bytes (SNIFF_BYTES are enough); undefined when unknown. */
export function sniffMedia(b: Uint8Array): Sniffed | undefined {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return image("image/jpeg");
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return image("image/png");
  const head6 = ascii(b, 0, 6);
  if (head6 === "GIF87a" || head6 === "GIF89a") return image("image/gif");
  if (ascii(b, 0, 4) === "RIFF") {
    const form = ascii(b, 8, 12);
    if (form === "WEBP") return image("image/webp");
    if (form === "AVI ") return av("video", "video/x-msvideo", "avi", ["audio"]);
    if (form === "WAVE") return av("audio", "audio/wav", "wav");
    return undefined;
  }
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return image("image/tiff");
  if (ascii(b, 0, 2) === "BM" && b.length >= 18) {
    // "BM" alone is too weak: also require a known DIB header size.
    const dib = b[14]! | (b[15]! << 8) | (b[16]! << 16) | (b[17]! << 24);
    if ([12, 40, 52, 56, 64, 108, 124].includes(dib)) return image("image/bmp");
  }
  const ftyp = sniffFtyp(b);
  if (ftyp) return ftyp;
  if (startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) {
    const webm = Buffer.from(b.buffer, b.byteOffset, b.byteLength).includes("webm");
    return av("video", webm ? "video/webm" : "video/x-matroska", "matroska", ["audio"]);
  }
  if (ascii(b, 0, 4) === "fLaC") return av("audio", "audio/flac", "flac");
  if (ascii(b, 0, 4) === "OggS") return av("audio", "audio/ogg", "ogg", ["video"]);
  if (ascii(b, 0, 3) === "ID3") return av("audio", "audio/mpeg", "mp3");
  if (isMpegAudioFrame(b)) return (b[1]! & 0x06) === 0 ? av("audio", "audio/aac", "aac") : av("audio", "audio/mpeg", "mp3");
  return undefined;
}
