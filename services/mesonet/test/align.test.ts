// The face crop (src/align.ts) against its numpy reference (python/face_align.py) on synthetic scenes with known
// landmarks: upright, tilted, past the image border (reflection), large (supersampled), tiny (upscaled), upside
// down. Plus geometry properties that hold whatever the reference says.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { alignFace, cropBox, FACE_SIZE, faceGeometry, faceTensor, type Point } from "../src/align.js";
import { decodeLikeSdk, diffStats } from "@deepsafe/sdk/testing";
import { makeFixtures, pythonUnavailable, runPythonOk, tempDir } from "./helpers.js";

const noPython = pythonUnavailable();
const pyTest = noPython ? test.skip : test;
if (noPython) console.log(`\n  SKIPPED mesonet alignment parity tests: ${noPython}\n`);

pyTest("crops equal the numpy reference pixel for pixel", async () => {
  const fx = makeFixtures();
  const dump = tempDir("align");
  const specs: string[] = [];
  // the tilted scene is also cropped 1.2 times wider (MESONET_CROP_SCALE)
  const scaleOf = (i: number) => (fx.scenes[i]!.file.includes("tilted") ? 1.2 : 1);
  fx.scenes.forEach((scene, i) => {
    const spec = join(dump, `scene${i}.json`);
    // the reference reads the PNG with PIL; PNG decoding is lossless, so both sides see the same pixels
    writeFileSync(spec, JSON.stringify({ image: join(fx.dir, scene.file), faces: scene.faces, scale: scaleOf(i) }));
    specs.push("--faces", spec);
  });
  // Any weights will do: only the crops are compared here (a random fixture is the cheapest).
  const model = tempDir("align-model");
  runPythonOk("export.py", ["--weights", "Meso4_DF", "--random-seed", "1", "--out", model]);
  runPythonOk("reference_scores.py", ["--model-dir", model, ...specs, "--dump-dir", dump]);
  let n = 0;
  const rows: Record<string, unknown>[] = [];
  for (const [i, scene] of fx.scenes.entries()) {
    const image = await decodeLikeSdk(readFileSync(join(fx.dir, scene.file)));
    for (const landmarks of scene.faces) {
      const expected = new Uint8Array(readFileSync(join(dump, `${n}.crop.rgb`)));
      const actual = alignFace(image, landmarks as Point[], scaleOf(i));
      const d = diffStats(actual, expected);
      const side = faceGeometry(landmarks as Point[], scaleOf(i)).side;
      rows.push({ scene: scene.file, face: n, side: +side.toFixed(1), supersample: Math.min(12, Math.max(1, Math.ceil(side / 256))), differing: d.count, maxDiff: d.max });
      assert.is(d.count, 0, `${scene.file} face ${n}: ${d.count} values differ (max ${d.max})`);
      n++;
    }
  }
  console.table(rows);
});

test("an upright face: the crop is centred on the nose, side 1.3 * 2.2 * max(eye, eye-mouth distance)", () => {
  // eyes 40 px apart, mouth 50 px below the eye line: side = 1.3 * 2.2 * 50 = 143
  const lm: Point[] = [[120, 100], [80, 100], [100, 125], [115, 150], [85, 150]];
  const g = faceGeometry(lm);
  assert.ok(Math.abs(g.side - 143) < 1e-9, `side ${g.side}`);
  assert.equal([g.cx, g.cy, g.rx, g.ry, g.dx, g.dy], [100, 125, 1, -0, 0, 1]);
  const box = cropBox(g);
  assert.ok(Math.abs(box.x - 28.5) < 1e-9 && Math.abs(box.y - 53.5) < 1e-9 && Math.abs(box.width - 143) < 1e-9);
  // wide-set eyes dominate
  assert.ok(Math.abs(faceGeometry([[150, 100], [50, 100], [100, 125], [115, 130], [85, 130]]).side - 1.3 * 2.2 * 100) < 1e-9);
});

test("a face turned by 90 degrees gives the same crop as the upright one", () => {
  // a random image and its exact 90-degree clockwise rotation; landmarks rotated alike
  const w = 97, h = 83;
  const data = new Uint8Array(w * h * 3);
  let seed = 7;
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const rot = new Uint8Array(w * h * 3); // size h x w: (x, y) -> (h - 1 - y, x)
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const nx = h - 1 - y, ny = x;
      for (let c = 0; c < 3; c++) rot[(ny * h + nx) * 3 + c] = data[(y * w + x) * 3 + c]!;
    }
  }
  const lm: Point[] = [[58, 35], [38, 35], [48, 45], [55, 58], [41, 58]];
  const lmRot = lm.map(([x, y]) => [h - 1 - y, x] as Point);
  const a = alignFace({ data, width: w, height: h }, lm);
  const b = alignFace({ data: rot, width: h, height: w }, lmRot);
  const d = diffStats(a, b);
  // the sample positions agree up to float rounding; a few values may round the other way
  assert.ok(d.max <= 1 && d.count < a.length / 1000, `${d.count} values differ, max ${d.max}`);
});

test("outside the image, pixels are mirrored (no black borders)", () => {
  const w = 50, h = 40;
  const data = new Uint8Array(w * h * 3).fill(200);
  // a face at the corner whose crop extends far outside the frame
  const crop = alignFace({ data, width: w, height: h }, [[8, 5], [2, 5], [5, 9], [7, 14], [3, 14]]);
  assert.ok(crop.every((v) => v === 200));
});

test("degenerate landmarks and bad buffers are refused", () => {
  const img = { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10 };
  assert.throws(() => alignFace(img, [[1, 1], [1, 1], [1, 1], [1, 1], [1, 1]]), /degenerate/);
  assert.throws(() => alignFace(img, [[1, 1], [2, 1], [1, 1], [1, 1]] as Point[]), /5 landmarks/);
  assert.throws(() => alignFace({ ...img, width: 11 }, [[1, 1], [3, 1], [2, 2], [3, 3], [1, 3]]), /expected 330 bytes/);
});

test("faceTensor is float32 CHW of u / 255", () => {
  const crop = new Uint8Array(FACE_SIZE * FACE_SIZE * 3);
  crop[0] = 255; crop[1] = 128; crop[2] = 1;
  const t = faceTensor(crop);
  const plane = FACE_SIZE * FACE_SIZE;
  assert.is(t[0], 1);
  assert.is(t[plane], Math.fround(128 / 255));
  assert.is(t[2 * plane], Math.fround(1 / 255));
  assert.throws(() => faceTensor(new Uint8Array(5)), /256x256/);
});

test.run();
