// Pixel-exactness of our Pillow bilinear port against PIL itself (the version installed for the
// Python reference), on downscales, upscales, odd sizes, extreme aspect ratios and skipped passes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { INPUT_SIZE, normalizeImageNet, preprocessNpr, resizeBilinearPil } from "../src/preprocess.js";
import { fixturesDir, runPython } from "../scripts/python.js";

interface Case { name: string; width: number; height: number; outWidth: number; outHeight: number }

const dir = join(fixturesDir, "resize");
runPython("pil_resize_cases.py", [dir]);
const manifest = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8")) as { pillow: string; cases: Case[] };

for (const c of manifest.cases) {
  test(`PIL ${manifest.pillow} bilinear ${c.name}`, () => {
    const input = new Uint8Array(readFileSync(join(dir, `${c.name}.in`)));
    const expected = new Uint8Array(readFileSync(join(dir, `${c.name}.out`)));
    const actual = resizeBilinearPil(input, c.width, c.height, 3, c.outWidth, c.outHeight);
    assert.is(actual.length, expected.length);
    let differing = 0;
    let maxDiff = 0;
    for (let i = 0; i < actual.length; i++) {
      const d = Math.abs(actual[i]! - expected[i]!);
      if (d) differing++;
      if (d > maxDiff) maxDiff = d;
    }
    assert.is(differing, 0, `${differing} of ${actual.length} values differ (max ${maxDiff})`);
  });
}

test("grayscale and 4-channel layouts filter channels independently", () => {
  const w = 37, h = 19;
  const gray = new Uint8Array(w * h).map((_, i) => (i * 37) % 256);
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.fill(gray[i]!, i * 4, i * 4 + 4);
  const g = resizeBilinearPil(gray, w, h, 1, 11, 23);
  const r = resizeBilinearPil(rgba, w, h, 4, 11, 23);
  for (let i = 0; i < g.length; i++) for (let c = 0; c < 4; c++) assert.is(r[i * 4 + c], g[i]);
});

test("normalisation is torchvision's ToTensor + Normalize in float32", () => {
  const rgb = new Uint8Array([0, 128, 255]);
  const t = normalizeImageNet(rgb, 1, 1);
  const f = Math.fround;
  assert.is(t[0], f(f(f(0 / 255) - f(0.485)) / f(0.229)));
  assert.is(t[1], f(f(f(128 / 255) - f(0.456)) / f(0.224)));
  assert.is(t[2], f(f(f(255 / 255) - f(0.406)) / f(0.225)));
});

test("preprocessNpr gives a 3x256x256 tensor and rejects bad input", () => {
  const img = { data: new Uint8Array(10 * 7 * 3).fill(200), width: 10, height: 7 };
  const t = preprocessNpr(img);
  assert.is(t.length, 3 * INPUT_SIZE * INPUT_SIZE);
  assert.throws(() => preprocessNpr({ data: new Uint8Array(5), width: 10, height: 7 }), /expected 210 bytes/);
});

test.run();
