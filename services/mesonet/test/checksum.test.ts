// Weights we cannot vouch for are refused: an .h5 whose sha256 is not the pinned one (converter), a converted
// directory that does not match its provenance (service), a Keras file of another layout (reader). And the pins
// in weights.json, src/onnx.ts and the SDK's face detector agree.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { faceDetectorGraph } from "@deepsafe/sdk";
import { parseWeights, publicUrl, readModelDir, resolveModelDir, WEIGHTS, WEIGHTS_NAMES } from "../src/onnx.js";
import {
  mesonetWeightsDir,
  officialWeightsUnavailable,
  pythonBinary,
  pythonDir,
  pythonUnavailable,
  runPython,
  serviceDir,
  tempDir,
} from "./helpers.js";

const noPython = pythonUnavailable();
const pyTest = noPython ? test.skip : test;
const mirrorTest = noPython ?? officialWeightsUnavailable() ? test.skip : test;
if (noPython) console.log(`\n  SKIPPED mesonet converter checksum tests: ${noPython}\n`);

pyTest("export.py refuses an .h5 whose sha256 is not the pinned one, before reading it", () => {
  const dir = tempDir("bogus");
  const bogus = join(dir, "MesoInception_DF.h5");
  writeFileSync(bogus, "not the published weights");
  const out = join(dir, "out");
  const run = runPython("export.py", ["--weights", "MesoInception_DF", "--checkpoint", bogus, "--out", out]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /refusing .*MesoInception_DF\.h5: sha256 [0-9a-f]{64} does not match the pinned sha256 234586d4/);
  assert.not.ok(existsSync(join(out, "model.onnx")));
  assert.not.ok(existsSync(join(out, "provenance.json")));
});

mirrorTest("export.py refuses another published file under this name", () => {
  const run = runPython("export.py", [
    "--weights", "Meso4_DF", "--checkpoint", join(mesonetWeightsDir, "Meso4_F2F.h5"), "--out", join(tempDir("swap"), "out"),
  ]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /does not match the pinned sha256 036ed30d/);
});

mirrorTest("the Keras reader refuses a file of another layout with a clear error", () => {
  const dir = tempDir("layout");
  const bad = join(dir, "bad.h5");
  copyFileSync(join(mesonetWeightsDir, "Meso4_DF.h5"), bad);
  // shrink dense_3's kernel: shapes no longer fit Meso4
  const code = `
import sys, h5py, numpy as np
sys.path.insert(0, sys.argv[2])
with h5py.File(sys.argv[1], "r+") as f:
    g = f["dense_3"]["dense_3"]
    del g["kernel:0"]
    g.create_dataset("kernel:0", data=np.zeros((512, 16), np.float32))
from mesonet_reference import load_keras_model, WeightsFileError
try:
    load_keras_model(sys.argv[1])
except WeightsFileError as e:
    print("refused:", e)
`;
  const run = spawnSync(pythonBinary(), ["-c", code, bad, pythonDir], { encoding: "utf8" });
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /refused: dense_3\/kernel: shape \(16, 512\) != expected \(16, 1024\)/);
  const notKeras = join(dir, "plain.h5");
  writeFileSync(notKeras, "plain text");
  const run2 = spawnSync(pythonBinary(), ["-c", code.replace(/with h5py[\s\S]*?\nfrom/, "from"), notKeras, pythonDir], { encoding: "utf8" });
  assert.match(run2.stdout, /refused: .*not an HDF5 file/);
});

function modelDirWith(provenance: object, onnx = "not a graph"): string {
  const dir = tempDir("model-dir");
  writeFileSync(join(dir, "model.onnx"), onnx);
  writeFileSync(join(dir, "provenance.json"), JSON.stringify(provenance));
  return dir;
}

async function loadError(dir: string, weights = parseWeights("MesoInception_DF")): Promise<string> {
  try {
    await readModelDir(dir, weights);
  } catch (err) {
    return (err as Error).message;
  }
  return "";
}

test("a conversion claiming official weights with another checkpoint sha256 is refused", async () => {
  const dir = modelDirWith({ kind: "official", source: "x", checkpointSha256: "0".repeat(64), weights: "MesoInception_DF" });
  assert.match(await loadError(dir), /is not the pinned 234586d4/);
});

test("model.onnx that does not match provenance.json is refused", async () => {
  const dir = modelDirWith({
    kind: "official",
    source: "x",
    checkpointSha256: WEIGHTS.MesoInception_DF.sha256,
    onnxSha256: "f".repeat(64),
    weights: "MesoInception_DF",
  });
  assert.match(await loadError(dir), /model\.onnx has sha256 [0-9a-f]{64}, but provenance\.json records f{64}/);
});

test("another weights file's conversion is refused; a per-weights subfolder is preferred", async () => {
  const dir = modelDirWith({ kind: "random-fixture", source: "seed", weights: "Meso4_F2F", architecture: "Meso4" });
  assert.match(await loadError(dir), /holds Meso4_F2F, not MesoInception_DF/);
  assert.is(resolveModelDir(dir, "MesoInception_DF"), dir);
  mkdirSync(join(dir, "MesoInception_DF"));
  writeFileSync(join(dir, "MesoInception_DF", "provenance.json"), JSON.stringify({ kind: "random-fixture", source: "s", weights: "MesoInception_DF" }));
  writeFileSync(join(dir, "MesoInception_DF", "model.onnx"), "g");
  assert.is(resolveModelDir(dir, "MesoInception_DF"), join(dir, "MesoInception_DF"));
  assert.is(await loadError(dir), "");
});

test("a missing conversion says how to make one", async () => {
  assert.match(await loadError(tempDir("empty")), /npm run prepare-model -w @deepsafe\/mesonet/);
});

test("MESONET_WEIGHTS values", () => {
  assert.is(parseWeights(undefined), "MesoInception_DF");
  assert.is(parseWeights(""), "MesoInception_DF");
  assert.is(parseWeights("meso4_f2f"), "Meso4_F2F");
  assert.is(parseWeights("MesoInception_F2F.h5"), "MesoInception_F2F");
  assert.throws(() => parseWeights("Meso5"), /unknown MesoNet weights "Meso5": use one of Meso4_DF, Meso4_F2F/);
});

test("weights.json pins the four published files and the SDK's face detector graph", () => {
  const list = JSON.parse(readFileSync(join(serviceDir, "weights.json"), "utf8")) as Record<string, unknown>[];
  for (const w of WEIGHTS_NAMES) {
    const entry = list.find((e) => e.path === `mesonet/${w}.h5`);
    assert.ok(entry, w);
    assert.is(entry!.sha256, WEIGHTS[w].sha256);
    assert.is(entry!.bytes, WEIGHTS[w].bytes);
    assert.is(entry!.url, publicUrl(w));
  }
  const yunet = list.find((e) => e.path === faceDetectorGraph.path);
  assert.ok(yunet, "face detector entry");
  assert.is(yunet!.sha256, faceDetectorGraph.sha256);
  assert.is(yunet!.url, faceDetectorGraph.url);
  assert.is(list.length, 5);
});

mirrorTest("the mirror's files match the pins", () => {
  for (const w of WEIGHTS_NAMES) {
    const run = spawnSync("sha256sum", [join(mesonetWeightsDir, `${w}.h5`)], { encoding: "utf8" });
    assert.is(run.stdout.split(" ")[0], WEIGHTS[w].sha256, w);
  }
});

test.run();
