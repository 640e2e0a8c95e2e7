// onnxruntime-node (our TS decode + tensor) against our PyTorch reference, for the four OFFICIAL weight files and
// a random-weight fixture, on generated 256x256 face crops (PNG and JPEG). For the official files also an
// independent check of the Keras -> PyTorch conversion: a numpy evaluation of the HDF5 arrays in Keras' own
// layout (python/keras_numpy_reference.py). Skips, saying why, when the weights mirror or Python is missing.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { faceTensor, FACE_SIZE } from "../src/align.js";
import { FACE_FLOATS, MesoSession, readModelDir, sigmoid, WEIGHTS, WEIGHTS_NAMES } from "../src/onnx.js";
import { decodeLikeSdk, diffStats } from "@deepsafe/sdk/testing";
import {
  exportModel,
  makeFixtures,
  mesonetWeightsDir,
  officialWeightsUnavailable,
  pythonUnavailable,
  runPythonOk,
  tempDir,
} from "./helpers.js";

const TOLERANCE = 1e-4;
const KERAS_TOLERANCE = 2e-4; // float32 (torch) against float64 (numpy)
const noPython = pythonUnavailable();
const noWeights = noPython ?? officialWeightsUnavailable();
if (noPython) console.log(`\n  SKIPPED mesonet parity tests: ${noPython}\n`);
else if (noWeights) console.log(`\n  SKIPPED mesonet official-weights parity tests: ${noWeights}\n`);

interface RefResult {
  file: string;
  logit: number;
  probabilityFake: number;
}

const summary: Record<string, unknown>[] = [];
let maxDelta = 0;
let maxKerasDelta = 0;

async function checkParity(label: string, modelDir: string, referenceArgs: string[]): Promise<RefResult[]> {
  const fx = makeFixtures();
  const dump = tempDir(`ref-${label}`);
  const files = fx.crops.map((c) => join(fx.dir, c));
  const ref = JSON.parse(runPythonOk("reference_scores.py", [...referenceArgs, ...files, "--dump-dir", dump, "--threads", "1"])) as {
    results: RefResult[];
  };
  const { onnxPath } = await readModelDir(modelDir, JSON.parse(readFileSync(join(modelDir, "provenance.json"), "utf8")).weights);
  const session = await MesoSession.create(onnxPath, 1);
  try {
    const batch = new Float32Array(files.length * FACE_FLOATS);
    for (const [i, file] of files.entries()) {
      const decoded = await decodeLikeSdk(readFileSync(file));
      assert.is(decoded.width, FACE_SIZE);
      const pilPixels = new Uint8Array(readFileSync(join(dump, `${i}.crop.rgb`)));
      const decodeDiff = diffStats(decoded.data, pilPixels);
      if (file.endsWith(".png")) assert.is(decodeDiff.count, 0, "PNG decoding differs from PIL");
      // 1. same pixels -> same tensor, bit for bit
      const refTensor = new Float32Array(new Uint8Array(readFileSync(join(dump, `${i}.tensor.f32`))).buffer);
      const tensor = faceTensor(pilPixels);
      assert.is(diffStats(tensor, refTensor).count, 0, "tensor differs from torch");
      // 2. the graph: onnxruntime against PyTorch on that tensor
      const [logit] = await session.logits(tensor);
      const delta = Math.abs(logit! - ref.results[i]!.logit);
      maxDelta = Math.max(maxDelta, delta);
      assert.ok(delta <= TOLERANCE, `${label} ${file}: |Δlogit| ${delta} > ${TOLERANCE}`);
      // 3. as served: our decode (sharp; JPEG may differ from PIL by a level here and there)
      const [served] = await session.logits(faceTensor(decoded.data));
      if (decodeDiff.count === 0) assert.ok(Math.abs(served! - ref.results[i]!.logit) <= TOLERANCE);
      batch.set(tensor, i * FACE_FLOATS);
      summary.push({
        weights: label,
        file: file.split("/").pop(),
        refLogit: +ref.results[i]!.logit.toFixed(5),
        pFake: +sigmoid(logit!).toFixed(5),
        dLogit: +delta.toExponential(2),
        decodeDiffValues: decodeDiff.count,
        dLogitServed: +Math.abs(served! - ref.results[i]!.logit).toExponential(2),
      });
    }
    // 4. batched inference equals one by one
    const batched = await session.logits(batch, files.length);
    for (let i = 0; i < files.length; i++) {
      assert.ok(Math.abs(batched[i]! - ref.results[i]!.logit) <= TOLERANCE, `batched logit ${i}`);
    }
  } finally {
    await session.release();
  }
  return ref.results;
}

(noPython ? test.skip : test)("random-weight fixture: ONNX equals PyTorch", async () => {
  const dir = exportModel("MesoInception_DF", { randomSeed: 3 });
  await checkParity("random MesoInception4", dir, ["--model-dir", dir]);
  const dir4 = exportModel("Meso4_DF", { randomSeed: 4 });
  await checkParity("random Meso4", dir4, ["--model-dir", dir4]);
});

for (const weights of WEIGHTS_NAMES) {
  (noWeights ? test.skip : test)(`official ${weights}: ONNX equals PyTorch; PyTorch equals the Keras-layout numpy evaluation`, async () => {
    const checkpoint = join(mesonetWeightsDir, `${weights}.h5`);
    const dir = exportModel(weights, { checkpoint });
    const { provenance } = await readModelDir(dir, weights);
    assert.is(provenance.kind, "official");
    assert.is(provenance.checkpointSha256, WEIGHTS[weights].sha256);
    assert.is(provenance.architecture, WEIGHTS[weights].architecture);
    const torch = await checkParity(weights, dir, ["--checkpoint", checkpoint]);

    const fx = makeFixtures();
    const files = fx.crops.slice(0, 2).map((c) => join(fx.dir, c));
    const keras = JSON.parse(runPythonOk("keras_numpy_reference.py", [checkpoint, ...files])) as { results: { logitFake: number }[] };
    for (let i = 0; i < files.length; i++) {
      const d = Math.abs(torch[i]!.logit - keras.results[i]!.logitFake);
      maxKerasDelta = Math.max(maxKerasDelta, d);
      assert.ok(d <= KERAS_TOLERANCE, `${weights}: torch ${torch[i]!.logit} vs numpy/Keras ${keras.results[i]!.logitFake}`);
    }
  });
}

test.after(() => {
  if (summary.length === 0) return;
  console.log("\nmesonet parity (onnxruntime-node vs PyTorch)");
  console.table(summary);
  console.log(`max |Δlogit| ONNX vs PyTorch: ${maxDelta.toExponential(3)} (tolerance ${TOLERANCE})`);
  if (maxKerasDelta > 0) console.log(`max |Δlogit| PyTorch vs Keras-layout numpy (float64): ${maxKerasDelta.toExponential(3)}`);
});

test.run();
