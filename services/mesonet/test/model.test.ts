// The image service end to end over real gRPC (serveDetector on port 0): the official MesoInception_DF graph,
// the SDK's YuNet face detector, drawn faces. Served scores must equal the PyTorch reference given the same
// landmarks (crop in numpy + torch). Skips, saying why, without the weights mirror or Python.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/grpc/common";
import {
  createDetectorClient,
  decodeImage,
  loadFaceDetector,
  predictBytes,
  prepareFaceDetector,
  serveDetector,
  type DetectorHandle,
  type Face,
} from "@deepsafe/sdk";
import { MesoNetModel } from "../src/model.js";
import { sigmoid } from "../src/onnx.js";
import { selectFaces, noFaceReason } from "../src/scorer.js";
import {
  exportModel,
  makeFixtures,
  mesonetWeightsDir,
  officialWeightsUnavailable,
  pythonUnavailable,
  runPythonOk,
  tempDir,
  weightsMirror,
} from "./helpers.js";

const TOLERANCE = 1e-4;
const skipWhy = pythonUnavailable() ?? officialWeightsUnavailable();
if (skipWhy) console.log(`\n  SKIPPED mesonet service tests: ${skipWhy}\n`);
const serviceTest = skipWhy ? test.skip : test;

let handle: DetectorHandle | undefined;
let faceDir = "";
let modelDir = "";
const checkpoint = join(mesonetWeightsDir, "MesoInception_DF.h5");

async function serve(): Promise<{ port: number }> {
  if (handle) return handle;
  modelDir = exportModel("MesoInception_DF", { checkpoint });
  faceDir = tempDir("face-detector");
  await prepareFaceDetector({ mirror: weightsMirror, dir: faceDir });
  handle = await serveDetector(new MesoNetModel("MesoInception_DF", { faceDetectorDir: faceDir }), {
    port: 0,
    metricsPort: -1,
    handleSignals: false,
    modelDir,
    intraOpThreads: 1,
  });
  return handle;
}

async function predict(file: string) {
  const { port } = await serve();
  const client = createDetectorClient(`127.0.0.1:${port}`);
  try {
    return await predictBytes(client, { header: { threshold: 0.5 }, bytes: readFileSync(file) });
  } finally {
    client.close();
  }
}

test.after(async () => {
  await handle?.drain();
});

test("load() without a conversion says how to make one", async () => {
  try {
    await new MesoNetModel().load({ modelDir: tempDir("empty"), intraOpThreads: 1 });
    assert.unreachable("load should fail");
  } catch (err) {
    assert.match((err as Error).message, /npm run prepare-model -w @deepsafe\/mesonet/);
  }
});

serviceTest("load() without the face detector says so", async () => {
  const dir = exportModel("MesoInception_DF", { checkpoint });
  try {
    await new MesoNetModel("MesoInception_DF", { faceDetectorDir: tempDir("no-faces") }).load({ modelDir: dir, intraOpThreads: 1 });
    assert.unreachable("load should fail");
  } catch (err) {
    assert.match((err as Error).message, /MesoNet needs the face detector in .*face detector not prepared/s);
  }
});

serviceTest("two faces: one region segment each, scores equal the PyTorch reference, image score = max", async () => {
  const fx = makeFixtures();
  const file = join(fx.dir, fx.service["two-faces"]!);
  const res = await predict(file);
  assert.is(res.modelName, "mesonet");
  assert.is(res.weightsKind, WeightsKind.WEIGHTS_KIND_OFFICIAL);
  assert.is.not(res.prediction, Prediction.PREDICTION_UNDETERMINED, res.note);
  assert.is(res.segments.length, 2, res.note);
  for (const s of res.segments) {
    assert.is(s.kind, SegmentKind.SEGMENT_KIND_REGION);
    assert.ok(s.box && s.box.width > 60 && s.box.height > 60, JSON.stringify(s.box));
  }
  const centres = res.segments.map((s) => s.box!.x + s.box!.width / 2).sort((a, b) => a - b);
  assert.ok(Math.abs(centres[0]! - 220) < 40 && Math.abs(centres[1]! - 590) < 40, `face centres ${centres}`);
  const max = Math.max(...res.segments.map((s) => s.probabilityFake));
  assert.is(res.probabilityFake, max);
  assert.ok(Math.abs(sigmoid(res.logit!) - res.probabilityFake) < 1e-12);

  // The reference: the same landmarks (our detector on our decode; PNG decodes identically in PIL),
  // crop in numpy, MesoInception4 in PyTorch.
  const { detector } = await loadFaceDetector(1, {}, faceDir);
  const image = await decodeImage(readFileSync(file), { maxPixels: 40_000_000 });
  const faces: Face[] = await detector.detect(image);
  await detector.release();
  const sel = selectFaces(faces, 64, 8);
  const spec = join(tempDir("ref"), "faces.json");
  writeFileSync(spec, JSON.stringify({ image: file, faces: sel.candidates.map((c) => c.landmarks) }));
  const ref = JSON.parse(runPythonOk("reference_scores.py", ["--checkpoint", checkpoint, "--faces", spec, "--threads", "1"])) as {
    results: { logit: number; probabilityFake: number }[];
  };
  assert.is(ref.results.length, 2);
  ref.results.forEach((r, i) => {
    const served = res.segments[i]!.probabilityFake;
    const servedLogit = Math.log(served) - Math.log1p(-served); // segments carry probabilities only
    const ok = Number.isFinite(servedLogit) ? Math.abs(servedLogit - r.logit) <= TOLERANCE : Math.abs(served - r.probabilityFake) < 1e-12;
    assert.ok(ok, `face ${i}: served logit ${servedLogit} vs reference ${r.logit}`);
  });
  const topRef = Math.max(...ref.results.map((r) => r.logit));
  const delta = Math.abs(res.logit! - topRef);
  console.log(`  mesonet served (gRPC) vs PyTorch, top-face |Δlogit| = ${delta.toExponential(3)}`);
  assert.ok(delta <= TOLERANCE, `|Δlogit| ${delta}`);
});

serviceTest("one face in a JPEG photo-sized image: scored, with its box", async () => {
  const fx = makeFixtures();
  const res = await predict(join(fx.dir, fx.service["one-face"]!));
  assert.is.not(res.prediction, Prediction.PREDICTION_UNDETERMINED, res.note);
  assert.is(res.segments.length, 1);
  const box = res.segments[0]!.box!;
  assert.ok(Math.abs(box.x + box.width / 2 - 320) < 30 && Math.abs(box.y + box.height / 2 - 240) < 40, JSON.stringify(box));
  assert.match(res.note, /1 face scored \(MesoInception_DF\)/);
});

// A real photograph, when one is installed offline: $MESONET_TEST_PHOTO, else scikit-image's "astronaut" (Eileen
// Collins, NASA, public domain) from Debian's python3-skimage or a pip install.
const photo = [
  process.env.MESONET_TEST_PHOTO,
  "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
  ...["3.11", "3.12", "3.13"].map((v) => `/usr/local/lib/python${v}/dist-packages/skimage/data/astronaut.png`),
].find((p): p is string => !!p && existsSync(p));
if (!skipWhy && !photo) console.log("\n  SKIPPED mesonet real-photo test: set MESONET_TEST_PHOTO or install python3-skimage (astronaut.png)\n");

(skipWhy || !photo ? test.skip : test)("a real photograph of a real person: one face, scored real", async () => {
  const res = await predict(photo!);
  assert.is(res.segments.length, 1, res.note);
  assert.is(res.prediction, Prediction.PREDICTION_REAL, `P(fake) ${res.probabilityFake}`);
  console.log(`  real photo ${photo}: P(fake) = ${res.probabilityFake.toExponential(3)}, face box ${JSON.stringify(res.segments[0]!.box)}`);
});

serviceTest("no face: the model abstains with a reason and no score", async () => {
  const fx = makeFixtures();
  const res = await predict(join(fx.dir, fx.service["no-face"]!));
  assert.is(res.prediction, Prediction.PREDICTION_UNDETERMINED);
  assert.is(res.probabilityFake, 0);
  assert.is(res.segments.length, 0);
  assert.match(res.note, /no face found in the image/);
});

test("face selection: landmarks required, too small skipped, at most maxFaces", () => {
  const lm = (x: number, y: number, s: number) => [
    { x: x + 0.35 * s, y: y - 0.2 * s },
    { x: x - 0.35 * s, y: y - 0.2 * s },
    { x, y: y + 0.15 * s },
    { x: x + 0.25 * s, y: y + 0.43 * s },
    { x: x - 0.25 * s, y: y + 0.43 * s },
  ];
  const face = (s: number, landmarks = true): Face => ({
    box: { x: 0, y: 0, width: s, height: s },
    score: 0.9,
    ...(landmarks ? { landmarks: lm(100, 100, s) } : {}),
  });
  // crop side = 1.3 * 2.2 * max(0.7 s, 0.63 s) = 2.002 s
  const sel = selectFaces([face(100), face(20), face(100, false), face(50), face(40)], 64, 2);
  assert.is(sel.candidates.length, 2);
  assert.equal(sel.candidates.map((c) => Math.round(c.side)), [200, 100]);
  assert.is(sel.tooSmall, 1);
  assert.is(sel.noLandmarks, 1);
  assert.is(sel.dropped, 1);
  assert.ok(Math.abs(selectFaces([face(100)], 64, 2, 1.5).candidates[0]!.side - 1.5 * 200.2) < 1e-9);
  assert.match(noFaceReason({ tooSmall: 2, noLandmarks: 0, dropped: 0 }, "in the image", 64), /2 face\(s\) found, all with a crop under 64 px/);
  assert.match(noFaceReason({ tooSmall: 0, noLandmarks: 0, dropped: 0 }, "in the image", 64), /no face found in the image/);
});

test.run();
