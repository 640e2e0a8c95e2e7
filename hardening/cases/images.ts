// Hostile and odd still images: truncated, corrupt, pixel bombs, header-only, misleading claims,
// polyglots, and file names that try paths, control characters and unicode tricks.
import { noise, overwrite, pngBomb, truncate } from "./bytes.js";
import { STILL_FORMATS, still, type StillFormat } from "./encode.js";
import { type HostileCase, empty, rejected, unrecognised, verdict } from "./types.js";

const MIME: Record<StillFormat, string> = { jpeg: "image/jpeg", png: "image/png", webp: "image/webp", gif: "image/gif", tiff: "image/tiff" };
/** What the detectors say about an image libvips cannot decode. */
const UNDECODABLE = /the media was rejected: npr: INVALID_ARGUMENT (not a decodable image|corrupt image)/;
const OVER_PIXEL_LIMIT = /the media was rejected: npr: INVALID_ARGUMENT .*(pixel limit|over the limit of 40000000 pixels)/;

/** JPEG: set the frame size in the first SOF0/SOF2 segment. */
function jpegDeclares(jpeg: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(jpeg);
  for (let i = 2; i + 9 < copy.length; ) {
    if (copy[i] !== 0xff) break;
    const marker = copy[i + 1]!;
    if (marker === 0xc0 || marker === 0xc2) {
      copy.writeUInt16BE(height, i + 5);
      copy.writeUInt16BE(width, i + 7);
      return copy;
    }
    i += 2 + copy.readUInt16BE(i + 2);
  }
  throw new Error("no SOF segment");
}

/** GIF: logical screen and first image descriptor both declare width x height. */
function gifDeclares(gif: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(gif);
  copy.writeUInt16LE(width, 6);
  copy.writeUInt16LE(height, 8);
  const descriptor = copy.indexOf(0x2c, 13 + (copy[10]! & 0x80 ? 3 * 2 ** ((copy[10]! & 7) + 1) : 0));
  if (descriptor > 0) {
    copy.writeUInt16LE(width, descriptor + 5);
    copy.writeUInt16LE(height, descriptor + 7);
  }
  return copy;
}

/** Lossy WebP ("VP8 " chunk): the 14-bit frame size after the start code. */
function webpDeclares(webp: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(webp);
  const start = copy.indexOf(Buffer.from([0x9d, 0x01, 0x2a]));
  if (start < 0) throw new Error("not a lossy WebP");
  copy.writeUInt16LE(width & 0x3fff, start + 3);
  copy.writeUInt16LE(height & 0x3fff, start + 5);
  return copy;
}

/** Little-endian TIFF: rewrite ImageWidth (256) and ImageLength (257) in the first IFD. */
function tiffDeclares(tiff: Buffer, width: number, height: number): Buffer {
  const copy = Buffer.from(tiff);
  const ifd = copy.readUInt32LE(4);
  const count = copy.readUInt16LE(ifd);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + 12 * k;
    const tag = copy.readUInt16LE(e);
    if (tag !== 256 && tag !== 257) continue;
    const value = tag === 256 ? width : height;
    const type = copy.readUInt16LE(e + 2);
    if (type === 3) copy.writeUInt16LE(Math.min(value, 0xffff), e + 8);
    else copy.writeUInt32LE(value, e + 8);
  }
  return copy;
}

export async function imageCases(): Promise<HostileCase[]> {
  const cases: HostileCase[] = [];
  const files = Object.fromEntries(await Promise.all(STILL_FORMATS.map(async (f) => [f, await still(f)] as const))) as Record<StillFormat, Buffer>;

  for (const f of STILL_FORMATS) {
    const b = files[f];
    cases.push({ kind: "valid image (control)", name: `${f} 192x160`, bytes: b, fileName: `ok.${f}`, mime: MIME[f], expect: verdict("image") });
    for (const fraction of [0.02, 0.25, 0.5, 0.9]) {
      cases.push({ kind: "truncated image", name: `${f} cut at ${fraction * 100}%`, bytes: truncate(b, fraction), fileName: `cut.${f}`, expect: rejected(UNDECODABLE) });
    }
    // The structure after the signature (sizes, tables) destroyed, the signature kept (and for WebP the
    // RIFF header, for JPEG everything before its Huffman tables), so the damage is in what decodes.
    const structure = f === "jpeg" ? b.indexOf(Buffer.from([0xff, 0xc4])) + 5 : f === "webp" ? 20 : 8; // JPEG: inside the Huffman tables
    cases.push({ kind: "corrupt image", name: `${f} header scrambled`, bytes: overwrite(b, structure, noise(48, 11)), expect: rejected(UNDECODABLE) });
    // The second half replaced by noise. libjpeg and libwebp conceal damaged entropy-coded data (as
    // browsers do): the picture still decodes, so a verdict is the right answer; the others refuse it.
    const half = Math.floor(b.length / 2);
    const concealed = f === "jpeg" || f === "webp";
    cases.push({
      kind: concealed ? "corrupt image (decoder conceals)" : "corrupt image",
      name: `${f} second half noise`,
      bytes: overwrite(b, half, noise(b.length - half, 13)),
      expect: concealed ? verdict("image") : rejected(UNDECODABLE),
    });
    cases.push({ kind: "header-only image", name: `${f} first 12 bytes`, bytes: b.subarray(0, 12), expect: rejected(UNDECODABLE) });
  }

  // Pixel bombs: refused from the header, before any pixel is decoded.
  const bombs: [string, Buffer][] = [
    ["PNG declaring 100000x100000 (token IDAT)", pngBomb(100_000, 100_000)],
    ["PNG really 20000x20000 (1-bit, deflated)", pngBomb(20_000, 20_000, true)],
    ["JPEG SOF declaring 65000x65000", jpegDeclares(files.jpeg, 65_000, 65_000)],
    ["GIF declaring 65535x65535", gifDeclares(files.gif, 65_535, 65_535)],
    ["WebP declaring 16383x16383", webpDeclares(files.webp, 16_383, 16_383)],
    ["TIFF declaring 65535x65535", tiffDeclares(files.tiff, 100_000, 100_000)],
  ];
  for (const [name, bytes] of bombs) cases.push({ kind: "pixel bomb", name, bytes, expect: rejected(OVER_PIXEL_LIMIT) });

  cases.push({ kind: "zero-byte file", name: "0 bytes named photo.jpg", bytes: Buffer.alloc(0), fileName: "photo.jpg", mime: "image/jpeg", ...empty });

  // Claims that contradict the bytes: the bytes win.
  cases.push({ kind: "wrong MIME vs magic", name: "JPEG sent as image/png, photo.png", bytes: files.jpeg, fileName: "photo.png", mime: "image/png", expect: verdict("image") });
  cases.push({ kind: "wrong MIME vs magic", name: "PNG sent as video/mp4, clip.mp4", bytes: files.png, fileName: "clip.mp4", mime: "video/mp4", expect: verdict("image") });
  cases.push({ kind: "wrong MIME vs magic", name: "GIF sent as audio/wav", bytes: files.gif, fileName: "a.wav", mime: "audio/wav", expect: verdict("image") });
  const notMedia: [string, Buffer][] = [
    ["shell script named photo.jpg", Buffer.from("#!/bin/sh\nrm -rf / --no-preserve-root\n")],
    ["HTML named photo.png", Buffer.from("<!doctype html><script>alert(document.cookie)</script>")],
    ["SVG named photo.jpg", Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"><image href="file:///etc/passwd"/></svg>')],
    ["PDF named photo.jpg", Buffer.from("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")],
    ["ZIP named photo.jpg", Buffer.concat([Buffer.from("PK\x03\x04", "latin1"), noise(300, 3)])],
    ["ELF executable named photo.jpg", Buffer.concat([Buffer.from("\x7fELF\x02\x01\x01", "latin1"), noise(300, 5)])],
    ["random bytes named photo.jpg", noise(4096, 17)],
  ];
  for (const [name, bytes] of notMedia) cases.push({ kind: "wrong MIME vs magic", name, bytes, fileName: "photo.jpg", mime: "image/jpeg", ...unrecognised });

  // Polyglots: a valid image with something else inside or after it is still only an image.
  const zipTail = Buffer.concat([Buffer.from("PK\x03\x04", "latin1"), noise(200, 23), Buffer.from("PK\x05\x06", "latin1"), Buffer.alloc(18)]);
  cases.push({ kind: "polyglot", name: "JPEG + appended ZIP", bytes: Buffer.concat([files.jpeg, zipTail]), expect: verdict("image") });
  cases.push({ kind: "polyglot", name: "PNG + HTML after IEND", bytes: Buffer.concat([files.png, Buffer.from("<html><script>alert(1)</script></html>")]), expect: verdict("image") });
  cases.push({ kind: "polyglot", name: "GIF + appended JavaScript", bytes: Buffer.concat([files.gif, Buffer.from("*/=alert(1);//")]), expect: verdict("image") });
  // A JPEG COM segment holding a PDF header (a PDF/JPEG polyglot).
  const comment = Buffer.from("%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\n");
  const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), comment]);
  com.writeUInt16BE(comment.length + 2, 2);
  cases.push({ kind: "polyglot", name: "JPEG with a PDF in a comment segment", bytes: Buffer.concat([files.jpeg.subarray(0, 2), com, files.jpeg.subarray(2)]), expect: verdict("image") });
  // GIFAR-style: a GIF signature in front of script text (no image data at all).
  cases.push({ kind: "polyglot", name: "GIF89a signature + JavaScript body", bytes: Buffer.from("GIF89a/*\x00\x00\x00\x00*/=1;alert(document.domain);//", "latin1"), expect: rejected(UNDECODABLE) });
  // A PNG signature, then a ZIP: sniffed as PNG, refused by the decoder.
  cases.push({ kind: "polyglot", name: "PNG signature + ZIP body", bytes: Buffer.concat([files.png.subarray(0, 8), zipTail]), expect: rejected(UNDECODABLE) });

  // File names are labels only: never paths, never trusted, echoed back as sent.
  const names = [
    "../../../../etc/passwd",
    "..\\..\\..\\Windows\\System32\\config\\SAM",
    "/dev/zero",
    "photo\u202Egpj.exe",
    "фото-照片-🙂.jpg",
    "nul\u0000byte.jpg",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "CON.jpg",
    "x".repeat(2000) + ".jpg",
    "$(touch /tmp/pwned).jpg",
    "a\"; filename*=UTF-8''evil.jpg",
  ];
  for (const fileName of names) {
    const shown = JSON.stringify(fileName.length > 40 ? `${fileName.slice(0, 20)}…(${fileName.length} chars)` : fileName);
    cases.push({ kind: "file name tricks", name: shown, bytes: files.jpeg, fileName, mime: "image/jpeg", expect: verdict("image") });
  }
  return cases;
}
