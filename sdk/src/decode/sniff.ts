// Media type from magic bytes: a client's MIME type or file extension is a claim, the bytes are the fact.
export type SniffedMedia = "image" | "video" | "audio";

export interface Sniffed {
  media: SniffedMedia;
  /** Canonical MIME type. */
  mime: string;
  /** ffmpeg demuxer to force (-f), for audio and video. */
  ffmpegFormat?: string;
}

const ascii = (bytes: Uint8Array, start: number, end: number): string =>
  String.fromCharCode(...bytes.subarray(start, end));

/** Inspect the first bytes (64 are enough) of a file. Returns undefined for unknown formats. */
export function sniffMedia(head: Uint8Array): Sniffed | undefined {
  const b = head;
  if (b.length < 4) return undefined;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { media: "image", mime: "image/jpeg" };
  if (ascii(b, 0, 8) === "\x89PNG\r\n\x1a\n") return { media: "image", mime: "image/png" };
  if (ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a") return { media: "image", mime: "image/gif" };
  if (ascii(b, 0, 4) === "II*\0" || ascii(b, 0, 4) === "MM\0*") return { media: "image", mime: "image/tiff" };
  if (ascii(b, 0, 2) === "BM" && b.length >= 14) return { media: "image", mime: "image/bmp" };
  if (ascii(b, 0, 4) === "RIFF" && b.length >= 12) {
    const kind = ascii(b, 8, 12);
    if (kind === "WEBP") return { media: "image", mime: "image/webp" };
    if (kind === "WAVE") return { media: "audio", mime: "audio/wav", ffmpegFormat: "wav" };
    if (kind === "AVI ") return { media: "video", mime: "video/x-msvideo", ffmpegFormat: "avi" };
  }
  if (b.length >= 12 && ascii(b, 4, 8) === "ftyp") {
    const brand = ascii(b, 8, 12);
    if (["heic", "heix", "heim", "heis", "mif1", "msf1"].includes(brand)) return { media: "image", mime: "image/heif" };
    if (brand === "avif" || brand === "avis") return { media: "image", mime: "image/avif" };
    if (brand.startsWith("M4A") || brand.startsWith("M4B")) return { media: "audio", mime: "audio/mp4", ffmpegFormat: "mov" };
    if (brand === "qt  ") return { media: "video", mime: "video/quicktime", ffmpegFormat: "mov" };
    return { media: "video", mime: "video/mp4", ffmpegFormat: "mov" };
  }
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) {
    const webm = ascii(b, 0, Math.min(b.length, 64)).includes("webm");
    return { media: "video", mime: webm ? "video/webm" : "video/x-matroska", ffmpegFormat: "matroska" };
  }
  if (ascii(b, 0, 4) === "fLaC") return { media: "audio", mime: "audio/flac", ffmpegFormat: "flac" };
  if (ascii(b, 0, 4) === "OggS") return { media: "audio", mime: "audio/ogg", ffmpegFormat: "ogg" };
  if (ascii(b, 0, 3) === "ID3") return { media: "audio", mime: "audio/mpeg", ffmpegFormat: "mp3" };
  // MPEG audio frame sync: 11 set bits, layer bits not 00 (ADTS AAC has layer 00).
  if (b[0] === 0xff && (b[1]! & 0xe0) === 0xe0) {
    if ((b[1]! & 0x06) !== 0) return { media: "audio", mime: "audio/mpeg", ffmpegFormat: "mp3" };
    return { media: "audio", mime: "audio/aac", ffmpegFormat: "aac" };
  }
  return undefined;
}
