// End-to-end parity against the PyTorch reference on image files made here with ffmpeg and PIL.
//
// The model is the test fixture: a 2-block random CLIP image tower of ViT-L/14's exact shapes,
// written as a TorchScript archive and converted through the same safe reader as OpenAI's
// ViT-L-14.pt, with the official UFD head (python/export.py --random-backbone-layers 2). For every
// image: the PyTorch reference (PIL decode -> torchvision-style CenterCrop(224) with zero padding
// -> ToTensor/Normalize(CLIP) -> our nn.Module) against our TS path (sharp decode as the SDK does
// it -> centre crop -> normalise -> onnxruntime-node).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeLikeSdk, diffStats } from "@deepsafe/sdk/testing";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { centerCrop, INPUT_SIZE, normalizeClip, PLANE, preprocessUfd } from "../src/preprocess.js";
import { UfdSession } from "../src/session.js";
import { ensureFixture, fixturesDir, runPython } from "../scripts/python.js";

const TOLERANCE = 1e-4;
const fixture = ensureFixture();
const imageDir = join(fixturesDir, "images");
const dumpDir = join(fixturesDir, "reference");
rmSync(imageDir, { recursive: true, force: true });
mkdirSync(imageDir, { recursive: true });

// ffmpeg-made images: odd sizes need a 4:4:4 or RGB pixel format.
const ffmpegImages: [string, string[]][] = [
  ["ff_testsrc2_301x257.png", ["-f", "lavfi", "-i", "testsrc2=size=301x257:rate=1,format=rgb24"]],
  ["ff_testsrc2_225x227.png", ["-f", "lavfi", "-i", "testsrc2=size=225x227:rate=1,format=rgb24"]],
  ["ff_testsrc2_640x480.jpg", ["-f", "lavfi", "-i", "testsrc2=size=640x480:rate=1", "-q:v", "3"]],
  ["ff_mandelbrot_151x99.jpg", ["-f", "lavfi", "-i", "mandelbrot=size=151x99:rate=1,format=yuvj444p", "-q:v", "2"]],
];
for (const [name, args] of ffmpegImages) {
  execFileSync("ffmpeg", ["-v", "error", "-y", ...args, "-frames:v", "1", join(imageDir, name)], { stdio: "pipe" });
}
runPython("make_images.py", [imageDir]);
const files = [
  ...ffmpegImages.map(([name]) => name),
  ...(JSON.parse(readFileSync(join(imageDir, "pil-images.json"), "utf8")) as { files: string[] }).files,
];

const refJson = join(dumpDir, "reference.json");
rmSync(dumpDir, { recursive: true, force: true });
mkdirSync(dumpDir, { recursive: true });
runPython("reference_logits.py", [
  "--backbone", fixture.backbone, "--head", fixture.head, "--json-out", refJson, "--dump-dir", dumpDir, "--threads", "1",
  ...files.map((f) => join(imageDir, f)),
]);
const reference = JSON.parse(readFileSync(refJson, "utf8")) as {
  results: { file: string; width: number; height: number; logit: number }[];
};

let session: UfdSession;
const summary: Record<string, unknown>[] = [];
let maxDeltaSamePixels = 0;
let maxDeltaEndToEnd = 0;
let maxDeltaEndToEndAll = 0;

test.before(async () => {
  session = await UfdSession.create(join(fixture.modelDir, "model.onnx"), 1);
});
test.after(async () => {
  await session.release();
  console.log(`\nufd parity (random ${fixture.officialHead ? "backbone + official head" : "backbone + random head"}, ${files.length} images)`);
  console.table(summary);
  console.log(`max |Δlogit| with PIL-decoded pixels: ${maxDeltaSamePixels.toExponential(3)}`);
  console.log(`max |Δlogit| end to end (sharp decode), images decoded identically: ${maxDeltaEndToEnd.toExponential(3)}`);
  console.log(`max |Δlogit| end to end including JPEG decoder differences: ${maxDeltaEndToEndAll.toExponential(3)}`);
  writeFileSync(join(dumpDir, "parity-summary.json"), JSON.stringify({ summary, maxDeltaSamePixels, maxDeltaEndToEnd, maxDeltaEndToEndAll }, null, 1));
});

files.forEach((file, i) => {
  test(`parity ${file}`, async () => {
    const ref = reference.results[i]!;
    const pilDecoded = new Uint8Array(readFileSync(join(dumpDir, `${i}.decoded.rgb`)));
    const pilCrop = new Uint8Array(readFileSync(join(dumpDir, `${i}.crop.rgb`)));
    const refTensor = new Float32Array(new Uint8Array(readFileSync(join(dumpDir, `${i}.tensor.f32`))).buffer);

    // 1. Decoding: sharp (SDK) against PIL convert("RGB").
    const decoded = await decodeLikeSdk(readFileSync(join(imageDir, file)));
    assert.is(decoded.width, ref.width);
    assert.is(decoded.height, ref.height);
    const decodeDiff = diffStats(decoded.data, pilDecoded);
    if (file.endsWith(".png")) assert.is(decodeDiff.count, 0, `PNG decode differs from PIL for ${file}`);

    // 2. Preprocessing from PIL's pixels must equal torchvision-style crop + torch normalisation.
    const pilImage = { data: pilDecoded, width: ref.width, height: ref.height };
    const crop = centerCrop(pilImage);
    assert.is(diffStats(crop, pilCrop).count, 0, "centre crop differs from the reference");
    const tensor = normalizeClip(crop, INPUT_SIZE, INPUT_SIZE);
    const tensorDiff = diffStats(tensor, refTensor);
    assert.ok(tensorDiff.max <= 1e-6, `tensor differs from torch by ${tensorDiff.max}`);

    // 3. Model: onnxruntime on identical input against the PyTorch reference.
    const [logitSame] = await session.logits(tensor);
    const deltaSame = Math.abs(logitSame! - ref.logit);
    maxDeltaSamePixels = Math.max(maxDeltaSamePixels, deltaSame);
    assert.ok(deltaSame <= TOLERANCE, `|Δlogit| ${deltaSame} > ${TOLERANCE}`);

    // 4. End to end as served: sharp decode -> preprocess -> onnxruntime.
    const [logitServed] = await session.logits(preprocessUfd(decoded));
    const deltaServed = Math.abs(logitServed! - ref.logit);
    maxDeltaEndToEndAll = Math.max(maxDeltaEndToEndAll, deltaServed);
    if (decodeDiff.count === 0) {
      maxDeltaEndToEnd = Math.max(maxDeltaEndToEnd, deltaServed);
      assert.ok(deltaServed <= TOLERANCE, `end-to-end |Δlogit| ${deltaServed}`);
    }

    summary.push({
      file,
      size: `${ref.width}x${ref.height}`,
      decodeDiffValues: decodeDiff.count,
      decodeMaxDiff: decodeDiff.max,
      tensorMaxDiff: tensorDiff.max,
      refLogit: Number(ref.logit.toFixed(5)),
      dLogitSamePixels: Number(deltaSame.toExponential(2)),
      dLogitServed: Number(deltaServed.toExponential(2)),
    });
  });
});

test("batched inference equals one-by-one", async () => {
  const a = new Float32Array(readFileSync(join(dumpDir, "0.tensor.f32")).buffer.slice(0));
  const b = new Float32Array(readFileSync(join(dumpDir, "1.tensor.f32")).buffer.slice(0));
  const both = new Float32Array(2 * 3 * PLANE);
  both.set(a, 0);
  both.set(b, 3 * PLANE);
  const batched = await session.logits(both, 2);
  const [la] = await session.logits(a);
  const [lb] = await session.logits(b);
  assert.ok(Math.abs(batched[0]! - la!) <= 1e-5 && Math.abs(batched[1]! - lb!) <= 1e-5, `${batched} vs ${la}, ${lb}`);
});

test("our reference equals an openai/CLIP-structured model, and the crop equals torchvision's rule", () => {
  // nn.MultiheadAttention on sequence-first input (as CLIP's model.py) vs our explicit attention,
  // and PIL pad/crop vs a NumPy formulation of torchvision's CenterCrop on 169 sizes around 224.
  const r = JSON.parse(runPython("selfcheck.py", [])) as { ok: boolean; modelMaxAbsDiff: number; onednnMaxAbsDiff: number; cropMismatches: string[] };
  console.log(`selfcheck: ${JSON.stringify(r)}`);
  assert.ok(r.ok);
  assert.equal(r.cropMismatches, []);
});

test.run();
