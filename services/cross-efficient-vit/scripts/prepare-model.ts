// Convert Cross-Efficient-ViT weights to <models>/cross-efficient-vit/{model.onnx, provenance.json} and install the
// SDK's face detector (YuNet, <mirror>/yunet/yunet_n_dynamic.onnx, pinned) into <models>/face-detector.
//
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/cross-efficient-vit [-- --force]
//     converts <mirror>/cross_efficient_vit/cross_efficient_vit.pth, the authors' checkpoint (README of
//     davide-coccomini/Combining-EfficientNet-and-Vision-Transformers-for-Video-Deepfake-Detection:
//     http://datino.isti.cnr.it/efficientvit_deepfake/cross_efficient_vit.pth). It is read as tensors only and
//     must have exactly the published keys and shapes; when weights.json pins its sha256, that is checked first.
//   npm run prepare-model -w @deepsafe/cross-efficient-vit -- --random-fixture [--seed N]
//     random weights of the same layout (tests only; labelled "random-fixture" everywhere, never counted).
//     DEEPSAFE_ALLOW_RANDOM_WEIGHTS=1 does the same when there is no official checkpoint.
//
// Without the checkpoint and without --random-fixture it says what to do and exits 1. Idempotent: a conversion of
// the same file (or fixture seed) by the same converter code is kept; an official conversion is never replaced
// by a fixture unless --force is given. Needs Python with torch: $DEEPSAFE_PYTHON, else /usr/bin/python3.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { modelDir, prepareFaceDetector, sha256File } from "@deepsafe/sdk";
import { MODEL_NAME } from "../src/model.js";
import { readModelDir } from "../src/onnx.js";
import { converterDigest, pythonBinary, pythonDir, serviceDir } from "./python.js";

export const CHECKPOINT_PATH = "cross_efficient_vit/cross_efficient_vit.pth";
export const OFFICIAL_URL = "http://datino.isti.cnr.it/efficientvit_deepfake/cross_efficient_vit.pth";

interface Recorded {
  kind?: string;
  checkpointSha256?: string;
  converter?: string;
  fixtureSeed?: number;
}

async function recorded(dir: string): Promise<Recorded | undefined> {
  try {
    await readModelDir(dir); // checks the graph against its recorded sha256
    return JSON.parse(readFileSync(join(dir, "provenance.json"), "utf8")) as Recorded;
  } catch {
    return undefined;
  }
}

/** sha256 pinned for the checkpoint in weights.json, if the list has one. */
function pinnedSha256(): string | undefined {
  const list = JSON.parse(readFileSync(join(serviceDir, "weights.json"), "utf8")) as { path: string; sha256?: string }[];
  return list.find((w) => w.path === CHECKPOINT_PATH)?.sha256;
}

function exportWith(args: string[]): boolean {
  const run = spawnSync(pythonBinary(), [join(pythonDir, "export.py"), ...args], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (run.error) {
    console.error(`cross-efficient-vit: cannot run ${pythonBinary()} (${run.error.message}); set DEEPSAFE_PYTHON to a Python with torch`);
    return false;
  }
  if (run.status !== 0) {
    console.error(`cross-efficient-vit: conversion failed (exit ${run.status})`);
    return false;
  }
  return true;
}

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
  const checkpoint = mirror ? join(mirror, CHECKPOINT_PATH) : undefined;
  const haveCheckpoint = checkpoint !== undefined && existsSync(checkpoint);
  // DEEPSAFE_ALLOW_RANDOM_WEIGHTS=1 (the launcher's switch for test meshes) stands for --random-fixture when
  // there is no official checkpoint.
  const fixture = args.includes("--random-fixture") || (!haveCheckpoint && process.env.DEEPSAFE_ALLOW_RANDOM_WEIGHTS === "1");
  const seed = Number(argValue(args, "--seed") ?? 0);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    console.error(`cross-efficient-vit: --seed must be a non-negative integer`);
    return 2;
  }
  const out = modelDir(MODEL_NAME);
  let failed = false;

  try {
    const faces = await prepareFaceDetector({ mirror });
    console.log(`cross-efficient-vit: face detector ${faces.copied ? "installed in" : "already in"} ${faces.dir}`);
  } catch (err) {
    console.error(`cross-efficient-vit: ${(err as Error).message}`);
    failed = true;
  }

  const converter = converterDigest();
  const current = await recorded(out);

  if (checkpoint && haveCheckpoint && !fixture) {
    const sha = await sha256File(checkpoint);
    const pin = pinnedSha256();
    if (pin && sha !== pin) {
      console.error(`cross-efficient-vit: refusing ${checkpoint}: sha256 ${sha} does not match the pinned ${pin} (${OFFICIAL_URL})`);
      return 1;
    }
    if (!force && current?.kind === "official" && current.checkpointSha256 === sha && current.converter === converter) {
      console.log(`cross-efficient-vit: ${out} is already converted from ${checkpoint} (use --force to redo)`);
      return failed ? 1 : 0;
    }
    if (!exportWith(["--checkpoint", checkpoint, "--out", out, "--source", OFFICIAL_URL, ...(pin ? ["--pinned"] : [])])) return 1;
    console.log(`cross-efficient-vit: wrote ${out} from ${checkpoint} (sha256 ${sha}${pin ? ", pinned" : ", no published digest to check against"})`);
    return failed ? 1 : 0;
  }

  if (fixture) {
    if (!force && current?.kind === "official") {
      console.log(`cross-efficient-vit: keeping the official weights in ${out} (use --force to replace them with a random fixture)`);
      return failed ? 1 : 0;
    }
    if (!force && current?.kind === "random-fixture" && current.fixtureSeed === seed && current.converter === converter) {
      console.log(`cross-efficient-vit: ${out} already holds the random fixture (seed ${seed})`);
      return failed ? 1 : 0;
    }
    console.warn(`cross-efficient-vit: exporting RANDOM weights (seed ${seed}) for tests only; their scores mean nothing`);
    if (!exportWith(["--random-fixture", "--seed", String(seed), "--out", out])) return 1;
    console.log(`cross-efficient-vit: wrote the random fixture to ${out}`);
    return failed ? 1 : 0;
  }

  if (current?.kind === "official") {
    console.log(`cross-efficient-vit: ${out} holds official weights converted earlier (the checkpoint is not in the mirror now)`);
    return failed ? 1 : 0;
  }
  console.error(
    `cross-efficient-vit: no official checkpoint: ${checkpoint ?? "DEEPSAFE_WEIGHTS_MIRROR is not set"}` +
      (checkpoint ? " not found" : "") +
      `. Download cross_efficient_vit.pth (${OFFICIAL_URL}, or the authors' Google Drive folder linked from ` +
      "their README), put it at $DEEPSAFE_WEIGHTS_MIRROR/" + CHECKPOINT_PATH + " and run this again. " +
      "For tests only: `npm run prepare-model -w @deepsafe/cross-efficient-vit -- --random-fixture`.",
  );
  return 1;
}

process.exitCode = await main();
