// The shared face detector (YuNet, official ONNX on onnxruntime-node) on real photos, its parity with
// our PyTorch reference (sdk/python/yunet_reference.py, official yunet_n.pth), and the crop/resize/
// tracking helpers.
//
// Real photos: see sdk/src/testing/photos.ts. Weights: $DEEPSAFE_WEIGHTS_MIRROR/yunet/ (skipped, with the
// reason printed, when absent).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeImage,
  decodeVideo,
  faceDetectorGraph,
  faceTensor,
  isotropicResize,
  letterbox,
  loadFaceDetector,
  padTo,
  prepareFaceDetector,
  repoRoot,
  resize,
  squareCrop,
  squareCropBox,
  toTensor,
  trackFaces,
  type Face,
  type FaceDetector,
  type RgbImage,
} from "../src/index.js";
import { SAMPLE_PHOTOS, findSamplePhotos } from "../src/testing/photos.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const reference = join(here, "..", "python", "yunet_reference.py");
const work = mkdtempSync(join(tmpdir(), "deepsafe-faces-test-"));
test.after(() => rmSync(work, { recursive: true, force: true }));

// ------------------------------------------------------------------------------------ test inputs

const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
const haveWeights = !!mirror && existsSync(join(mirror, faceDetectorGraph.path));
const photos: { dir?: string; why?: string } = haveWeights ? findSamplePhotos() : { why: "no weights" };
const python = process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const havePython = spawnSync(python, ["-c", "import torch, numpy, PIL"]).status === 0;
const checkpoint = mirror ? join(mirror, "yunet", "yunet_n.pth") : "";

function skip(name: string, why: string): void {
  test(`${name} (skipped: ${why})`, () => console.log(`  SKIPPED ${name}: ${why}`));
}

async function load(file: string): Promise<RgbImage> {
  const img = await decodeImage(readFileSync(file), { maxPixels: 40_000_000 });
  return { data: img.data, width: img.width, height: img.height };
}

const savePng = (image: RgbImage, file: string) =>
  sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(file);

let detector: FaceDetector | undefined;
async function getDetector(): Promise<FaceDetector> {
  if (!detector) {
    const dir = join(work, "models", "face-detector");
    await prepareFaceDetector({ mirror, dir });
    detector = (await loadFaceDetector(1, {}, dir)).detector;
  }
  return detector;
}
test.after(async () => detector?.release());

// ------------------------------------------------------------------------------------ preparation

if (!haveWeights) {
  skip("prepareFaceDetector and detection", `DEEPSAFE_WEIGHTS_MIRROR does not hold ${faceDetectorGraph.path}`);
} else {
  test("prepareFaceDetector copies the pinned graph with provenance, idempotently, and refuses a wrong file", async () => {
    const dir = join(work, "prep");
    const first = await prepareFaceDetector({ mirror, dir });
    assert.ok(first.copied);
    assert.is(first.provenance.kind, "official");
    assert.is(first.provenance.onnxSha256, faceDetectorGraph.sha256);
    assert.match(first.provenance.source, /^https:\/\/github\.com\/ShiqiYu\/libfacedetection\.train\/raw\/[0-9a-f]{40}\/onnx\/yunet_n_dynamic\.onnx$/);
    const again = await prepareFaceDetector({ mirror, dir });
    assert.not.ok(again.copied);
    // a mirror whose file does not match the pin
    const bad = join(work, "bad-mirror");
    mkdirSync(join(bad, "yunet"), { recursive: true });
    writeFileSync(join(bad, faceDetectorGraph.path), "not the graph");
    try {
      await prepareFaceDetector({ mirror: bad, dir: join(work, "prep-bad") });
      assert.unreachable("a wrong file must be refused");
    } catch (err) {
      assert.match((err as Error).message, /sha256 [0-9a-f]{64}, expected 104ee26c/);
    }
    const saved = process.env.DEEPSAFE_WEIGHTS_MIRROR;
    delete process.env.DEEPSAFE_WEIGHTS_MIRROR;
    try {
      await prepareFaceDetector({ dir: join(work, "prep-none") });
      assert.unreachable("no mirror must be an error");
    } catch (err) {
      assert.match((err as Error).message, /DEEPSAFE_WEIGHTS_MIRROR is not set/);
    } finally {
      process.env.DEEPSAFE_WEIGHTS_MIRROR = saved;
    }
    // a damaged graph is noticed by the provenance check and replaced on the next prepare
    writeFileSync(join(dir, "model.onnx"), "damaged");
    try {
      await loadFaceDetector(1, {}, dir);
      assert.unreachable("a damaged graph must not load");
    } catch (err) {
      assert.match((err as Error).message, /does not match the sha256/);
    }
    assert.ok((await prepareFaceDetector({ mirror, dir })).copied);
  });
}

// ------------------------------------------------------------------------------------ detection

if (!haveWeights || !photos.dir) {
  skip("face detection on real photos", photos.why ?? "no weights");
} else {
  const photo = (name: string) => join(photos.dir!, name);

  test("a real photo: one face, on the face, with plausible landmarks", async () => {
    const det = await getDetector();
    const faces = await det.detect(await load(photo("astronaut.png")));
    assert.is(faces.length, 1, JSON.stringify(faces));
    const { box, score, landmarks } = faces[0]!;
    assert.ok(score > 0.8, `score ${score}`);
    // Eileen Collins' face in the 512x512 photo lies around x 180-270, y 60-180
    assert.ok(box.x > 160 && box.x < 200 && box.y > 40 && box.y < 80, JSON.stringify(box));
    assert.ok(box.width > 70 && box.width < 120 && box.height > 90 && box.height < 140, JSON.stringify(box));
    assert.is(landmarks!.length, 5);
    for (const p of landmarks!) assert.ok(p.x > box.x && p.x < box.x + box.width && p.y > box.y && p.y < box.y + box.height);
    const [eyeL, eyeR, nose, mouthL, mouthR] = landmarks!;
    assert.ok(eyeL!.x < eyeR!.x && mouthL!.x < mouthR!.x, "left/right order");
    assert.ok(eyeL!.y < nose!.y && nose!.y < mouthL!.y, "eyes above nose above mouth");
  });

  test("no face: a photo of a coffee cup, a test pattern, a flat image", async () => {
    const det = await getDetector();
    assert.equal(await det.detect(await load(photo("coffee.png"))), []);
    const pattern = join(work, "pattern.png");
    execFileSync("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x480", "-frames:v", "1", pattern]);
    assert.equal(await det.detect(await load(pattern)), []);
    assert.equal(await det.detect({ data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 }), []);
  });

  test("two faces side by side (landscape input) and faces in video frames, tracked", async () => {
    const det = await getDetector();
    const astronaut = await load(photo("astronaut.png"));
    const camera = await load(photo("camera.png"));
    const pair = join(work, "pair.png");
    await sharp({ create: { width: 1024, height: 512, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite([{ input: photo("astronaut.png"), left: 0, top: 0 }, { input: photo("camera.png"), left: 512, top: 0 }])
      .png()
      .toFile(pair);
    const faces = await det.detect(await load(pair));
    assert.is(faces.length, 2, JSON.stringify(faces.map((f) => f.box)));
    assert.equal(faces.map((f) => f.box.x < 512).sort(), [false, true]);
    assert.ok(astronaut.width === 512 && camera.width === 512);

    // A 2 s clip panning across the pair (50 px/s): decode 6 frames, detect, track.
    const clip = join(work, "pan.mp4");
    execFileSync("ffmpeg", [
      "-v", "error", "-y", "-loop", "1", "-framerate", "10", "-i", pair, "-t", "2",
      "-vf", "crop=800:512:x='t*50':y=0", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip,
    ]);
    const video = await decodeVideo(readFileSync(clip), { frames: 6 });
    const perFrame: Face[][] = [];
    for (const f of video.frames) perFrame.push(await det.detect(f));
    const tracks = trackFaces(perFrame, { maxTracks: 3 });
    assert.is(tracks.length, 2, JSON.stringify(perFrame.map((f) => f.length)));
    for (const t of tracks) assert.is(t.faces.length, 6);
    // the pan moves every face left over time
    for (const t of tracks) assert.ok(t.faces[5]!.face.box.x < t.faces[0]!.face.box.x - 50);
  });
}

// ------------------------------------------------------------------------------------ parity

interface RefFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  landmarks: { x: number; y: number }[];
}
interface RefResult {
  file: string;
  inputWidth: number;
  inputHeight: number;
  scale: number;
  faces: RefFace[];
  inferMs: number;
}

const OUTPUT_NAMES = ["cls", "obj", "bbox", "kps"].flatMap((k) => [8, 16, 32].map((s) => `${k}_${s}`));
const readF32 = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

if (!haveWeights || !photos.dir || !havePython || !existsSync(checkpoint)) {
  const why = !havePython ? `${python} cannot import torch, numpy and PIL` : !existsSync(checkpoint) ? `${checkpoint || "yunet/yunet_n.pth"} not found` : photos.why ?? "no weights";
  skip("parity with the PyTorch reference", why);
} else {
  test("parity: TypeScript + onnxruntime-node vs our PyTorch reference (letterbox, raw outputs, decoding, NMS)", async () => {
    const det = await getDetector();
    // Inputs written as PNG from the SDK's own decode, so both sides start from the same pixels.
    const inputs = join(work, "parity");
    mkdirSync(inputs, { recursive: true });
    const files: string[] = [];
    for (const name of SAMPLE_PHOTOS) {
      const file = join(inputs, name);
      await savePng(await load(join(photos.dir!, name)), file);
      files.push(file);
    }
    const pair = join(inputs, "pair.png");
    await sharp({ create: { width: 1024, height: 512, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite([{ input: files[0]!, left: 0, top: 0 }, { input: files[1]!, left: 512, top: 0 }])
      .png()
      .toFile(pair);
    files.push(pair);

    let worstInput = 0;
    let worstRaw = 0;
    let worstBox = 0;
    let worstScore = 0;
    let compared = 0;
    const torchMs: number[] = [];
    for (const mode of ["640,480", "auto"] as const) {
      const dump = join(work, `dump-${mode.replace(",", "x")}`);
      const out = execFileSync(python, [reference, "--checkpoint", checkpoint, "--input-size", mode, "--score", "0.02", "--nms", "0.45", "--dump-dir", dump, ...files], {
        encoding: "utf8",
        maxBuffer: 64 << 20,
      });
      const results = (JSON.parse(out) as { results: RefResult[] }).results;
      for (const ref of results) {
        const name = ref.file.split("/").pop()!.replace(/\.png$/, "");
        const image = await load(ref.file);
        const inputSize = mode === "auto" ? ("auto" as const) : ([640, 480] as const);
        const boxed = letterbox(image, inputSize);
        assert.is(boxed.width, ref.inputWidth);
        assert.is(boxed.height, ref.inputHeight);
        assert.is(boxed.scale, ref.scale);
        const refInput = readF32(join(dump, `${name}.input.f32`));
        assert.is(refInput.length, boxed.tensor.length);
        for (let i = 0; i < refInput.length; i++) worstInput = Math.max(worstInput, Math.abs(refInput[i]! - boxed.tensor[i]!));
        const raw = await det.run(boxed);
        for (const o of OUTPUT_NAMES) {
          const a = raw[o]!;
          const b = readF32(join(dump, `${name}.${o}.f32`));
          assert.is(a.length, b.length, o);
          for (let i = 0; i < a.length; i++) worstRaw = Math.max(worstRaw, Math.abs(a[i]! - b[i]!));
        }
        // The full TS path at the reference's threshold, and at the default (a prefix of the same NMS result).
        for (const threshold of [0.02, det.options.scoreThreshold]) {
          const ours = await det.detect(image, { inputSize, scoreThreshold: threshold, nmsThreshold: 0.45 });
          const theirs = ref.faces.filter((f) => f.score > threshold);
          assert.is(ours.length, theirs.length, `${name} ${mode} @${threshold}: ${ours.length} vs ${theirs.length} faces`);
          ours.forEach((f, i) => {
            const r = theirs[i]!;
            const d = (a: number, b: number) => Math.abs(a - b);
            worstBox = Math.max(worstBox, d(f.box.x, r.box.x), d(f.box.y, r.box.y), d(f.box.width, r.box.width), d(f.box.height, r.box.height));
            f.landmarks!.forEach((p, k) => (worstBox = Math.max(worstBox, d(p.x, r.landmarks[k]!.x), d(p.y, r.landmarks[k]!.y))));
            worstScore = Math.max(worstScore, d(f.score, r.score));
            compared++;
          });
        }
        torchMs.push(ref.inferMs);
      }
    }
    console.log(
      `  parity over ${compared} faces: input max|Δ| ${worstInput}, raw outputs max|Δ| ${worstRaw.toExponential(2)}, ` +
        `boxes/landmarks max|Δ| ${worstBox.toExponential(2)} px, scores max|Δ| ${worstScore.toExponential(2)}`,
    );
    assert.ok(compared >= 10, `only ${compared} faces compared`);
    assert.is(worstInput, 0);
    assert.ok(worstRaw <= 1e-4, `raw outputs differ by ${worstRaw}`);
    assert.ok(worstBox <= 1e-3, `boxes differ by ${worstBox} px`);
    assert.ok(worstScore <= 1e-5, `scores differ by ${worstScore}`);

    // Latency of one 640x480 frame (letterbox + ORT + decoding), 1 and 2 threads.
    const frame = padTo(resize(await load(files[0]!), 480, 480), 640, 480, { position: "top-left" });
    for (const threads of [1, 2]) {
      const d = (await loadFaceDetector(threads, {}, join(work, "models", "face-detector"))).detector;
      const times: number[] = [];
      for (let i = 0; i < 12; i++) {
        const t0 = performance.now();
        await d.detect(frame);
        times.push(performance.now() - t0);
      }
      await d.release();
      times.sort((a, b) => a - b);
      console.log(`  detect() on a 640x480 frame, ${threads} thread(s): median ${times[6]!.toFixed(1)} ms`);
    }
    torchMs.sort((a, b) => a - b);
    console.log(`  PyTorch reference network forward, 1 thread: median ${torchMs[Math.floor(torchMs.length / 2)]!.toFixed(1)} ms`);
  });
}

// ------------------------------------------------------------------------------------ helpers

const gradient = (width: number, height: number): RgbImage => {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) data.set([x % 256, y % 256, (x + y) % 256], (y * width + x) * 3);
  return { data, width, height };
};

test("squareCropBox: Cross-Efficient-ViT's squaring, margins, clipping", () => {
  // 40 wide, 60 tall (after truncation): pad 10 left and right
  assert.equal(squareCropBox({ x: 100.7, y: 50.2, width: 40.1, height: 60.5 }, 640, 480), { x: 90, y: 50, width: 60, height: 60 });
  // 61 wide, 40 tall: int(21 / 2) = 10 above and below -> 61 x 60 (upstream is square up to one pixel)
  assert.equal(squareCropBox({ x: 10, y: 100, width: 61, height: 40 }, 640, 480), { x: 10, y: 90, width: 61, height: 60 });
  // clipped at the border (upstream slices with max(…, 0) and numpy's clipping)
  assert.equal(squareCropBox({ x: 5, y: 0, width: 20, height: 40 }, 640, 480), { x: 0, y: 0, width: 35, height: 40 });
  assert.equal(squareCropBox({ x: 620, y: 460, width: 30, height: 30 }, 640, 480), { x: 620, y: 460, width: 20, height: 20 });
  // scale 1.5: a quarter of the side added on each side
  assert.equal(squareCropBox({ x: 100, y: 100, width: 40, height: 40 }, 640, 480, 1.5), { x: 90, y: 90, width: 60, height: 60 });
});

test("squareCrop copies the right pixels; a box outside the image is an error", () => {
  const img = gradient(300, 200);
  const crop = squareCrop(img, { x: 50, y: 20, width: 30, height: 30 });
  assert.is(crop.width, 30);
  assert.equal([...crop.data.subarray(0, 3)], [50, 20, 70]);
  assert.throws(() => squareCrop(img, { x: 400, y: 20, width: 30, height: 30 }), /outside/);
});

test("isotropicResize + padTo: upstream sizes, kernels and centring", () => {
  const small = gradient(100, 60);
  const up = isotropicResize(small, 224);
  assert.equal([up.width, up.height], [224, 134]); // int(60 * 2.24) = 134
  const down = isotropicResize(gradient(500, 300), 224);
  assert.equal([down.width, down.height], [224, 134]);
  const same = gradient(224, 100);
  assert.is(isotropicResize(same, 224), same);
  const padded = padTo(up, 224, 224);
  assert.equal([padded.width, padded.height], [224, 224]);
  // (224 - 134) / 2 = 45 rows of zeros on top, 45 below
  assert.equal([...padded.data.subarray(0, 3)], [0, 0, 0]);
  assert.equal([...padded.data.subarray(45 * 224 * 3, 45 * 224 * 3 + 3)], [...up.data.subarray(0, 3)]);
  assert.equal([...padded.data.subarray(44 * 224 * 3, 44 * 224 * 3 + 3)], [0, 0, 0]);
  assert.equal([...padded.data.subarray(179 * 224 * 3, 179 * 224 * 3 + 3)], [0, 0, 0]);
});

test("resize kernels: flat stays flat, area is a block mean, linear/cubic reproduce a ramp", () => {
  const flat = { data: new Uint8Array(37 * 23 * 3).fill(77), width: 37, height: 23 };
  for (const k of ["linear", "area", "cubic"] as const) {
    for (const [w, h] of [[20, 11], [80, 50]] as const) assert.ok(resize(flat, w, h, k).data.every((v) => v === 77), `${k} ${w}x${h}`);
  }
  const block = { data: new Uint8Array([0, 0, 0, 10, 10, 10, 20, 20, 20, 31, 31, 31]), width: 2, height: 2 };
  assert.equal([...resize(block, 1, 1, "area").data], [15, 15, 15]); // (0 + 10 + 20 + 31) / 4 = 15.25
  // A horizontal ramp 0, 4, 8, ...: 2x enlargement samples at half-pixel centres -> 1, 3, 5, ... inside.
  const ramp = { data: new Uint8Array(16 * 3), width: 16, height: 1 };
  for (let x = 0; x < 16; x++) ramp.data.fill(x * 4, x * 3, x * 3 + 3);
  for (const k of ["linear", "cubic"] as const) {
    const r = resize(ramp, 32, 1, k);
    for (let x = 4; x < 28; x++) assert.is(r.data[x * 3], Math.floor((x + 0.5) * 2 - 2 + 0.5), `${k} x=${x}`);
  }
});

test("toTensor and faceTensor: BGR 0..255 CHW for Cross-Efficient-ViT, or normalised RGB", () => {
  const img = { data: new Uint8Array([10, 20, 30, 40, 50, 60]), width: 2, height: 1 };
  assert.equal([...toTensor(img, { channels: "bgr" })], [30, 60, 20, 50, 10, 40]);
  assert.equal([...toTensor(img, { layout: "hwc" })], [10, 20, 30, 40, 50, 60]);
  const norm = toTensor(img, { scale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.ok(Math.abs(norm[0]! - (10 / 255 - 0.5) / 0.5) < 1e-6);
  const t = faceTensor(gradient(640, 480), { x: 300.4, y: 200.9, width: 80, height: 100 }, { size: 224, channels: "bgr" });
  assert.is(t.length, 3 * 224 * 224);
});

test("trackFaces: identities follow overlap, not detection order; spurious faces drop out", () => {
  const face = (x: number, y: number, score = 0.9): Face => ({ box: { x, y, width: 50, height: 60 }, score });
  const frames: Face[][] = [
    [face(100, 100), face(400, 120)],
    [face(405, 122), face(104, 101)], // order swapped
    [face(108, 103), face(700, 300, 0.7), face(410, 125)], // a one-frame false positive
    [], // nobody detected in this frame
    [face(415, 126), face(112, 104)],
  ];
  const tracks = trackFaces(frames, { maxTracks: 2 });
  assert.is(tracks.length, 2);
  const [a, b] = tracks;
  assert.equal(a!.faces.map((f) => f.frame), [0, 1, 2, 4]);
  assert.ok(a!.faces.every((f) => f.face.box.x < 200), "track 0 is the left face");
  assert.ok(b!.faces.every((f) => f.face.box.x > 300 && f.face.box.x < 500), "track 1 is the right face");
  assert.is(trackFaces(frames, { maxTracks: 3 }).length, 3);
  assert.is(trackFaces(frames, { maxTracks: 3, minLength: 2 }).length, 2);
  assert.is(trackFaces(frames, { maxGap: 0, maxTracks: 10 }).length, 5, "a gap longer than maxGap splits tracks");
  // far-apart samples: no overlap, but the same-size face moved less than half its side
  const jumps = [[face(100, 100)], [face(128, 100)], [face(156, 100)], [face(300, 100)]];
  assert.equal(trackFaces(jumps, { maxTracks: 10 }).map((t) => t.faces.length), [3, 1]);
  assert.equal(trackFaces(jumps, { maxTracks: 10, maxCentreShift: 0 }).map((t) => t.faces.length), [1, 1, 1, 1]);
  // a box of a very different size is not the same face
  assert.is(trackFaces([[face(100, 100)], [{ box: { x: 90, y: 95, width: 120, height: 140 }, score: 0.9 }]], { iouThreshold: 0.5 }).length, 2);
});

test.run();
