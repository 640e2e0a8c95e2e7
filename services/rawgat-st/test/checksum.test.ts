// Weights we cannot vouch for are refused: a checkpoint whose sha256 is not the pinned one (Python
// converter and reference), and a converted directory whose files do not match its provenance (TS).
// weights.json (what the lead's pull tool downloads) must name exactly the pinned checkpoints.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { audioTesting } from "@deepsafe/sdk/testing";
import { checkpointUrl, readModelDir, VARIANTS, type RawGatVariant } from "../src/onnx.js";
import { exportScript, rawgatWeightsDir, referenceScript, runPython, serviceDir, tempDir, torchUnavailable } from "./helpers.js";

const noTorch = torchUnavailable();
const pyTest = noTorch ? test.skip : test;
if (noTorch) console.log(`\n  SKIPPED rawgat-st converter checksum tests: ${noTorch}\n`);

test("weights.json lists the three pinned official checkpoints", () => {
  const entries = JSON.parse(readFileSync(join(serviceDir, "weights.json"), "utf8")) as {
    path: string;
    url: string;
    sha256: string;
    bytes: number;
    license: string;
  }[];
  assert.is(entries.length, 3);
  for (const variant of ["mul", "add", "cat"] as RawGatVariant[]) {
    const entry = entries.find((e) => e.path === VARIANTS[variant].checkpointPath);
    assert.ok(entry, `weights.json has no ${VARIANTS[variant].checkpointPath}`);
    assert.is(entry.sha256, VARIANTS[variant].checkpointSha256);
    assert.is(entry.bytes, VARIANTS[variant].bytes);
    assert.is(entry.url, checkpointUrl(variant));
    assert.is(entry.license, "MIT");
  }
});

pyTest("export.py refuses a checkpoint whose sha256 is not the pinned one", () => {
  const dir = tempDir("bogus");
  const bogus = join(dir, "Best_epoch.pth");
  writeFileSync(bogus, "definitely not the official checkpoint");
  const out = join(dir, "out");
  const run = runPython([exportScript, "--variant", "mul", "--checkpoint", bogus, "--out", out]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /refusing .*Best_epoch\.pth: sha256 [0-9a-f]{64} does not match the pinned sha256 8a91ce82/);
  assert.not.ok(existsSync(join(out, "model.onnx")));
  assert.not.ok(existsSync(join(out, "provenance.json")));
});

const mirrorTest = noTorch || !existsSync(rawgatWeightsDir) ? test.skip : test;

mirrorTest("export.py refuses another variant's official checkpoint", () => {
  const out = join(tempDir("swap"), "out");
  const run = runPython([
    exportScript, "--variant", "mul", "--checkpoint", join(rawgatWeightsDir, "RawGAT_ST_add", "Best_epoch.pth"), "--out", out,
  ]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /does not match the pinned sha256/);
});

pyTest("reference_scores.py refuses a checkpoint whose sha256 is not the pinned one", () => {
  const dir = tempDir("bogus-ref");
  const bogus = join(dir, "Best_epoch.pth");
  writeFileSync(bogus, "x");
  const run = runPython([referenceScript, "--variant", "cat", "--checkpoint", bogus, bogus]);
  assert.is(run.status, 2);
  assert.match(run.stderr, /does not match the pinned sha256 4ee99110/);
});

const modelDirWith = (provenance: object) => audioTesting.writeModelDir(tempDir("model-dir"), provenance);
const loadError = (dir: string, variant: RawGatVariant = "mul") => audioTesting.rejectionMessage(() => readModelDir(dir, variant));

test("a converted model claiming official weights with another checkpoint sha256 is refused", async () => {
  const dir = modelDirWith({ kind: "official", source: "x", checkpointSha256: VARIANTS.add.checkpointSha256, variant: "mul" });
  assert.match(await loadError(dir), /is not the pinned 8a91ce82/);
});

test("model.onnx that does not match provenance.json is refused", async () => {
  const dir = modelDirWith({
    kind: "official",
    source: "x",
    checkpointSha256: VARIANTS.mul.checkpointSha256,
    onnxSha256: "f".repeat(64),
    variant: "mul",
  });
  assert.match(await loadError(dir), /model\.onnx has sha256 [0-9a-f]{64}, but provenance\.json records f{64}/);
});

test("another variant's converted model, or another input length, is refused", async () => {
  assert.match(await loadError(modelDirWith({ kind: "random-fixture", source: "seed", variant: "cat" })), /holds RawGAT-ST-cat, not RawGAT-ST-mul/);
  assert.match(
    await loadError(modelDirWith({ kind: "random-fixture", source: "seed", variant: "mul", inputSamples: 48000 })),
    /takes 48000 samples; this service needs 64600/,
  );
});

test("a missing conversion says how to make one", async () => {
  assert.match(await loadError(tempDir("empty")), /npm run prepare-model -w @deepsafe\/rawgat-st/);
});

test.run();
