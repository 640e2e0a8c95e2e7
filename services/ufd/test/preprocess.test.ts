// Centre-crop geometry against Python's own round() (torchvision's CenterCrop rule), padding, and
// the CLIP normalisation in float32.
import { execFileSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { centerCrop, CLIP_MEAN, CLIP_STD, cropGeometry, INPUT_SIZE, normalizeClip, preprocessUfd } from "../src/preprocess.js";
import { pythonExecutable } from "../scripts/python.js";

const SIZES = [1, 2, 7, 8, 99, 100, 101, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 233, 299, 301, 1001, 4000];

test("crop geometry equals torchvision's center_crop arithmetic evaluated by Python", () => {
  // torchvision: pad (224 - s) // 2 before a short side; else start at int(round((s - 224) / 2.0)).
  const code =
    "import json,sys\n" +
    "print(json.dumps([[(224 - s) // 2, 0] if s < 224 else [0, int(round((s - 224) / 2.0))] for s in json.loads(sys.argv[1])]))";
  const expected = JSON.parse(execFileSync(pythonExecutable(), ["-c", code, JSON.stringify(SIZES)], { encoding: "utf8" })) as number[][];
  SIZES.forEach((s, i) => {
    const g = cropGeometry(s);
    assert.equal([g.padBefore, g.start], expected[i], `size ${s}`);
  });
  // The half-to-even cases spelled out: 225 -> 0, 227 -> 2, 229 -> 2, 231 -> 4.
  assert.equal([225, 227, 229, 231].map((s) => cropGeometry(s).start), [0, 2, 2, 4]);
});

test("a small image is centred on black; a large one is cropped, never resized", () => {
  const w = 5, h = 3;
  const data = new Uint8Array(w * h * 3).fill(200);
  const out = centerCrop({ data, width: w, height: h });
  const at = (x: number, y: number) => out[(y * INPUT_SIZE + x) * 3]!;
  // pad before: (224 - 5) // 2 = 109 columns, (224 - 3) // 2 = 110 rows.
  assert.is(at(108, 111), 0);
  assert.is(at(109, 110), 200);
  assert.is(at(113, 112), 200);
  assert.is(at(114, 112), 0);
  assert.is(at(110, 113), 0);
  assert.is(out.reduce((n, v) => n + (v === 200 ? 1 : 0), 0), w * h * 3);

  const W = 301, H = 240;
  const big = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) big.set([x & 255, y & 255, (x + y) & 255], (y * W + x) * 3);
  const crop = centerCrop({ data: big, width: W, height: H });
  // 301: start round(38.5) = 38; 240: start 8.
  assert.equal([...crop.subarray(0, 3)], [38, 8, 46]);
  const last = (INPUT_SIZE * INPUT_SIZE - 1) * 3;
  assert.equal([...crop.subarray(last, last + 3)], [(38 + 223) & 255, 8 + 223, (38 + 223 + 8 + 223) & 255]);
});

test("normalisation is ToTensor + Normalize(CLIP mean/std) in float32", () => {
  const t = normalizeClip(new Uint8Array([0, 128, 255]), 1, 1);
  const f = Math.fround;
  assert.is(t[0], f(f(f(0 / 255) - f(CLIP_MEAN[0])) / f(CLIP_STD[0])));
  assert.is(t[1], f(f(f(128 / 255) - f(CLIP_MEAN[1])) / f(CLIP_STD[1])));
  assert.is(t[2], f(f(f(255 / 255) - f(CLIP_MEAN[2])) / f(CLIP_STD[2])));
  assert.equal([...CLIP_MEAN], [0.48145466, 0.4578275, 0.40821073]);
  assert.equal([...CLIP_STD], [0.26862954, 0.26130258, 0.27577711]);
});

test("preprocessUfd gives a 3x224x224 CHW tensor and rejects bad input", () => {
  const img = { data: new Uint8Array(300 * 250 * 3).fill(255), width: 300, height: 250 };
  const t = preprocessUfd(img);
  assert.is(t.length, 3 * INPUT_SIZE * INPUT_SIZE);
  assert.is(t[INPUT_SIZE * INPUT_SIZE], Math.fround(Math.fround(1 - Math.fround(CLIP_MEAN[1])) / Math.fround(CLIP_STD[1])));
  assert.throws(() => preprocessUfd({ data: new Uint8Array(5), width: 10, height: 7 }), /expected 210 bytes/);
  assert.throws(() => cropGeometry(0), /bad image size/);
});

test.run();
