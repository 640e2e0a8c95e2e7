import { test } from "uvu";
import * as assert from "uvu/assert";
import { sniffMedia, type SniffedMedia } from "../src/index.js";

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const ftyp = (major: string, ...compat: string[]) => bytes(u32(16 + 4 * compat.length), "ftyp", major, [0, 0, 0, 0], ...compat);
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc(32)]);

const cases: [string, Buffer, string, SniffedMedia][] = [
  ["jpeg", bytes([0xff, 0xd8, 0xff, 0xe0]), "image/jpeg", "image"],
  ["png", bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), "image/png", "image"],
  ["gif", bytes("GIF89a"), "image/gif", "image"],
  ["webp", bytes("RIFF", [0, 0, 0, 0], "WEBPVP8 "), "image/webp", "image"],
  ["tiff le", bytes([0x49, 0x49, 0x2a, 0]), "image/tiff", "image"],
  ["tiff be", bytes([0x4d, 0x4d, 0, 0x2a]), "image/tiff", "image"],
  ["bmp", bytes("BM", Array(12).fill(0), [40, 0, 0, 0]), "image/bmp", "image"],
  ["heic", ftyp("heic", "mif1", "heic"), "image/heic", "image"],
  ["avif", ftyp("avif", "mif1", "avif"), "image/avif", "image"],
  ["mp4", ftyp("isom", "isom", "mp41"), "video/mp4", "video"],
  ["mov", ftyp("qt  "), "video/quicktime", "video"],
  ["m4a", ftyp("M4A ", "isom"), "audio/mp4", "audio"],
  ["webm", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], "webm"), "video/webm", "video"],
  ["mkv", bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], "matroska"), "video/x-matroska", "video"],
  ["avi", bytes("RIFF", [0, 0, 0, 0], "AVI LIST"), "video/x-msvideo", "video"],
  ["wav", bytes("RIFF", [0, 0, 0, 0], "WAVEfmt "), "audio/wav", "audio"],
  ["flac", bytes("fLaC"), "audio/flac", "audio"],
  ["ogg", bytes("OggS"), "audio/ogg", "audio"],
  ["mp3 id3", bytes("ID3", [4, 0]), "audio/mpeg", "audio"],
  ["mp3 frame", bytes([0xff, 0xfb, 0x90, 0x64]), "audio/mpeg", "audio"],
  ["aac adts", bytes([0xff, 0xf1, 0x50, 0x80]), "audio/aac", "audio"],
];

for (const [name, b, mime, media] of cases) {
  test(`sniffs ${name}`, () => {
    const s = sniffMedia(pad(b));
    assert.ok(s, "recognised");
    assert.is(s!.mime, mime);
    assert.is(s!.media, media);
  });
}

test("unknown or too short input is not recognised", () => {
  assert.is(sniffMedia(Buffer.from("hello world, not media")), undefined);
  assert.is(sniffMedia(Buffer.alloc(0)), undefined);
  assert.is(sniffMedia(bytes("BM", [1, 2])), undefined); // "BM" alone is too weak
  assert.is(sniffMedia(bytes([0xff, 0xff, 0xff])), undefined); // bad MPEG header fields
});

test.run();
