// Weights we cannot vouch for are refused: a checkpoint whose sha256 is not the pinned one (Python
// converter and reference), and a converted directory whose files do not match its provenance (TS).
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { audioTesting } from "@deepsafe/sdk/testing";
import { checkpointPath, readModelDir, VARIANTS } from "../src/onnx.js";
import type { Variant } from "../src/plan.js";
import { exportScript, lfccWeightsDir, referenceScript, runPython, tempDir, torchUnavailable, weightsMirror } from "./helpers.js";

const noTorch = torchUnavailable();
const pyTest = noTorch ? test.skip : test;
if (noTorch) console.log(`\n  SKIPPED lfcc-lcnn converter checksum tests: ${noTorch}\n`);

pyTest("export.py refuses a checkpoint whose sha256 is not the pinned one", () => {
  const dir = tempDir("bogus");
  const bogus = join(dir, "trained_network.pt");
  writeFileSync(bogus, "definitely not the official checkpoint");
  const out = join(dir, "out");
  const run = runPython([exportScript, "--variant", "sigmoid", "--checkpoint", bogus, "--out", out]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /refusing .*trained_network\.pt: sha256 [0-9a-f]{64} does not match the pinned sha256 703a4f84/);
  assert.not.ok(existsSync(join(out, "model.onnx")));
  assert.not.ok(existsSync(join(out, "provenance.json")));
});

const mirrorTest = noTorch || !existsSync(lfccWeightsDir) ? test.skip : test;

mirrorTest("export.py refuses the other variant's official checkpoint", () => {
  const out = join(tempDir("swap"), "out");
  const run = runPython([exportScript, "--variant", "sigmoid", "--checkpoint", checkpointPath(weightsMirror, "a-softmax"), "--out", out]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /does not match the pinned sha256/);
});

pyTest("reference_scores.py refuses a checkpoint whose sha256 is not the pinned one", () => {
  const dir = tempDir("bogus-ref");
  const bogus = join(dir, "trained_network.pt");
  writeFileSync(bogus, "x");
  const run = runPython([referenceScript, "--variant", "a-softmax", "--checkpoint", bogus, "--raw-f32", bogus]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /does not match the pinned sha256 46f06c0d/);
});

const modelDirWith = (provenance: object, files = { "model.onnx": "fake graph", "frontend.onnx": "fake front end" }) =>
  audioTesting.writeModelDir(tempDir("model-dir"), provenance, files);
const loadError = (dir: string, variant: Variant = "sigmoid") => audioTesting.rejectionMessage(() => readModelDir(dir, variant));

test("a converted model claiming official weights with another checkpoint sha256 is refused", async () => {
  const dir = modelDirWith({ kind: "official", source: "x", checkpointSha256: "0".repeat(64), variant: "sigmoid" });
  assert.match(await loadError(dir), /is not the pinned 703a4f84/);
});

test("model.onnx or frontend.onnx that does not match provenance.json is refused", async () => {
  const base = { kind: "official", source: "x", checkpointSha256: VARIANTS.sigmoid.checkpointSha256, variant: "sigmoid" };
  assert.match(
    await loadError(modelDirWith({ ...base, onnxSha256: "f".repeat(64) })),
    /model\.onnx has sha256 [0-9a-f]{64}, but provenance\.json records f{64}/,
  );
  assert.match(
    await loadError(modelDirWith({ ...base, frontendSha256: "e".repeat(64) })),
    /frontend\.onnx has sha256 [0-9a-f]{64}, but provenance\.json records e{64}/,
  );
  assert.match(await loadError(modelDirWith(base, { "model.onnx": "graph" } as never)), /frontend\.onnx/);
});

test("another variant or input layout is refused", async () => {
  assert.match(await loadError(modelDirWith({ kind: "random-fixture", source: "seed", variant: "a-softmax" })), /holds the a-softmax variant, not sigmoid/);
  assert.match(await loadError(modelDirWith({ kind: "random-fixture", source: "seed", windowFrames: 600 })), /windowFrames is 600; this service needs 750/);
});

test("a missing conversion says how to make one", async () => {
  assert.match(await loadError(tempDir("empty")), /npm run prepare-model/);
});

test.run();
