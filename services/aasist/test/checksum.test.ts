// Weights we cannot vouch for are refused: a checkpoint whose sha256 is not the pinned one (Python
// converter and reference), and a converted directory whose files do not match its provenance (TS).
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { audioTesting } from "@deepsafe/sdk/testing";
import { readModelDir, VARIANTS, type AasistVariant } from "../src/onnx.js";
import { aasistWeightsDir, exportScript, referenceScript, runPython, tempDir, torchUnavailable } from "./helpers.js";

const noTorch = torchUnavailable();
const pyTest = noTorch ? test.skip : test;
if (noTorch) console.log(`\n  SKIPPED aasist converter checksum tests: ${noTorch}\n`);

pyTest("export.py refuses a checkpoint whose sha256 is not the pinned one", () => {
  const dir = tempDir("bogus");
  const bogus = join(dir, "AASIST.pth");
  writeFileSync(bogus, "definitely not the official checkpoint");
  const out = join(dir, "out");
  const run = runPython([exportScript, "--variant", "AASIST", "--checkpoint", bogus, "--out", out]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /refusing .*AASIST\.pth: sha256 [0-9a-f]{64} does not match the pinned sha256 51d2d9cf/);
  assert.not.ok(existsSync(join(out, "model.onnx")));
  assert.not.ok(existsSync(join(out, "provenance.json")));
});

const mirrorTest = noTorch || !existsSync(aasistWeightsDir) ? test.skip : test;

mirrorTest("export.py refuses the other variant's official checkpoint", () => {
  const out = join(tempDir("swap"), "out");
  const run = runPython([exportScript, "--variant", "AASIST", "--checkpoint", join(aasistWeightsDir, "AASIST-L.pth"), "--out", out]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /does not match the pinned sha256/);
});

pyTest("reference_scores.py refuses a checkpoint whose sha256 is not the pinned one", () => {
  const dir = tempDir("bogus-ref");
  const bogus = join(dir, "AASIST-L.pth");
  writeFileSync(bogus, "x");
  const run = runPython([referenceScript, "--variant", "AASIST-L", "--checkpoint", bogus, bogus]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /does not match the pinned sha256 814331d0/);
});

const modelDirWith = (provenance: object) => audioTesting.writeModelDir(tempDir("model-dir"), provenance);
const loadError = (dir: string, variant: AasistVariant = "AASIST") => audioTesting.rejectionMessage(() => readModelDir(dir, variant));

test("a converted model claiming official weights with another checkpoint sha256 is refused", async () => {
  const dir = modelDirWith({ kind: "official", source: "x", checkpointSha256: "0".repeat(64), variant: "AASIST" });
  assert.match(await loadError(dir), /is not the pinned 51d2d9cf/);
});

test("model.onnx that does not match provenance.json is refused", async () => {
  const dir = modelDirWith({
    kind: "official",
    source: "x",
    checkpointSha256: VARIANTS.AASIST.checkpointSha256,
    onnxSha256: "f".repeat(64),
    variant: "AASIST",
  });
  assert.match(await loadError(dir), /model\.onnx has sha256 [0-9a-f]{64}, but provenance\.json records f{64}/);
});

test("the other variant's converted model is refused", async () => {
  const dir = modelDirWith({ kind: "random-fixture", source: "seed", variant: "AASIST-L" });
  assert.match(await loadError(dir, "AASIST"), /holds AASIST-L, not AASIST/);
});

test("a missing conversion says how to make one", async () => {
  assert.match(await loadError(tempDir("empty")), /npm run prepare-model/);
});

test.run();
