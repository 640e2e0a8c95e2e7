// scripts/prepare-model.ts: what it does without the official checkpoint, the random fixture, and the conversion of
// a checkpoint supplied at $DEEPSAFE_WEIGHTS_MIRROR/cross_efficient_vit/cross_efficient_vit.pth (here: random
// weights of the identical key layout written by python/make_checkpoint.py, saved as DataParallel would, inside a
// {"state_dict": …} wrapper), and the refusal of files that are not that layout or that carry pickled code.
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readProvenance, sha256File } from "@deepsafe/sdk";
import { runPython } from "../scripts/python.js";
import { faceDetectorUnavailable, prepareModel, pythonUnavailable, randomFixture, tempDir, weightsMirror } from "./helpers.js";

const CKPT = join("cross_efficient_vit", "cross_efficient_vit.pth");

test("without the official checkpoint and without --random-fixture it says what to do and exits 1", () => {
  const models = tempDir("models-none");
  const emptyMirror = tempDir("mirror-empty");
  for (const mirror of [undefined, emptyMirror]) {
    const run = prepareModel([], { DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_MIRROR: mirror, DEEPSAFE_ALLOW_RANDOM_WEIGHTS: undefined });
    assert.is(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, mirror ? `${join(emptyMirror, CKPT)} not found` : "DEEPSAFE_WEIGHTS_MIRROR is not set");
    assert.match(run.stderr, /cross_efficient_vit\.pth \(http:\/\/datino\.isti\.cnr\.it\/efficientvit_deepfake\/cross_efficient_vit\.pth/);
    assert.match(run.stderr, /-- --random-fixture/);
    assert.not.ok(existsSync(join(models, "cross-efficient-vit", "model.onnx")));
  }
});

const skipWhy = pythonUnavailable() ?? faceDetectorUnavailable();
if (skipWhy) console.log(`\n  SKIPPED cross-efficient-vit conversion tests: ${skipWhy}\n`);
const convTest = skipWhy ? test.skip : test;

/** A mirror holding YuNet (linked from the real mirror) and, optionally, a checkpoint. */
function mirrorWith(checkpointArgs?: string[]): { mirror: string; checkpoint: string } {
  const mirror = tempDir("mirror");
  symlinkSync(join(weightsMirror, "yunet"), join(mirror, "yunet"));
  const checkpoint = join(mirror, CKPT);
  mkdirSync(join(mirror, "cross_efficient_vit"));
  if (checkpointArgs) {
    const run = runPython("make_checkpoint.py", [...checkpointArgs, "--out", checkpoint]);
    assert.is(run.status, 0, run.stderr);
  }
  return { mirror, checkpoint };
}

convTest("--random-fixture: labelled random-fixture, converted through the checkpoint path, idempotent", async () => {
  const fx = await randomFixture();
  const provenance = await readProvenance(fx.modelDir);
  assert.is(provenance.kind, "random-fixture");
  assert.match(provenance.description ?? "", /RANDOM weights \(seed 0\)/);
  assert.match(provenance.checkpointSha256 ?? "", /^[0-9a-f]{64}$/);
  const again = prepareModel(["--random-fixture", "--seed", "0"], { DEEPSAFE_MODELS_DIR: fx.modelsRoot, DEEPSAFE_WEIGHTS_MIRROR: weightsMirror });
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stdout, /already holds the random fixture \(seed 0\)/);
  // the launcher's DEEPSAFE_ALLOW_RANDOM_WEIGHTS=1 stands for --random-fixture when there is no official checkpoint
  const allowed = prepareModel([], { DEEPSAFE_MODELS_DIR: fx.modelsRoot, DEEPSAFE_WEIGHTS_MIRROR: mirrorWith().mirror, DEEPSAFE_ALLOW_RANDOM_WEIGHTS: "1" });
  assert.is(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /already holds the random fixture \(seed 0\)/);
  console.log(`  prepare-model --random-fixture again: ${again.ms.toFixed(0)} ms (first conversion: ${fx.prepare.ms.toFixed(0)} ms)`);
});

convTest("a checkpoint in the mirror (module. prefix, state_dict wrapper) converts to the same graph, labelled official", async () => {
  const fx = await randomFixture();
  const fixtureOnnx = (await readProvenance(fx.modelDir)).onnxSha256;
  const { mirror, checkpoint } = mirrorWith(["--seed", "0", "--prefix", "module.", "--wrap", "state_dict"]);
  const models = tempDir("models-official");
  const env = { DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_MIRROR: mirror };
  const run = prepareModel([], env);
  assert.is(run.status, 0, run.stderr);
  const dir = join(models, "cross-efficient-vit");
  const provenance = await readProvenance(dir);
  assert.is(provenance.kind, "official");
  assert.is(provenance.source, "http://datino.isti.cnr.it/efficientvit_deepfake/cross_efficient_vit.pth");
  assert.is(provenance.checkpointSha256, await sha256File(checkpoint));
  assert.match(provenance.description ?? "", /not checked against a published digest/);
  assert.is(provenance.onnxSha256, fixtureOnnx, "same weights after stripping module. and the wrapper: the same ONNX bytes");
  assert.ok(existsSync(join(models, "face-detector", "model.onnx")), "the face detector is installed too");
  console.log(`  conversion of a ${(readFileSync(checkpoint).length / 1e6).toFixed(0)} MB checkpoint: ${run.ms.toFixed(0)} ms`);

  const again = prepareModel([], env);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stdout, /already converted from/);
  const keep = prepareModel(["--random-fixture"], env);
  assert.is(keep.status, 0, keep.stderr);
  assert.match(keep.stdout, /keeping the official weights/);
  assert.is((await readProvenance(dir)).kind, "official");
});

convTest("checkpoints of another layout are refused with the differences listed", () => {
  const models = tempDir("models-bad");
  // a small file: the first 5 tensors, one of them dropped, one reshaped, one unknown tensor added
  const bad = mirrorWith([
    "--seed", "1", "--keep", "5", "--drop", "sm_image_embedder.cls_token", "--add", "extra.weight",
    "--reshape", "sm_image_embedder.pos_embedding",
  ]);
  const run = prepareModel([], { DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_MIRROR: bad.mirror });
  assert.is(run.status, 1);
  assert.match(run.stderr, /is not a Cross-Efficient-ViT checkpoint of the published layout \(1152 tensors, configs\/architecture\.yaml\): /);
  assert.match(run.stderr, /1148 missing key\(s\): sm_image_embedder\.cls_token, sm_image_embedder\.efficient_net\._bn0\.running_mean, /);
  assert.match(run.stderr, /; 1 unexpected key\(s\): extra\.weight; 1 shape mismatch\(es\): sm_image_embedder\.pos_embedding \(1, 1025, 193\) \(expected \(1, 1025, 192\)\)/);
  assert.not.ok(existsSync(join(models, "cross-efficient-vit", "model.onnx")));
});

convTest("a pickle that would run code is refused without running it", () => {
  const models = tempDir("models-pickle");
  const { mirror, checkpoint } = mirrorWith();
  const marker = join(tempDir("marker"), "ran");
  // protocol-0 pickle calling os.system("touch <marker>")
  writeFileSync(checkpoint, `cos\nsystem\n(S'touch ${marker}'\ntR.`);
  const run = prepareModel([], { DEEPSAFE_MODELS_DIR: models, DEEPSAFE_WEIGHTS_MIRROR: mirror });
  assert.is(run.status, 1);
  assert.match(run.stderr, /cannot be read as a tensors-only PyTorch checkpoint/);
  assert.not.ok(existsSync(marker), "the pickled code must not run");
});

test.run();
