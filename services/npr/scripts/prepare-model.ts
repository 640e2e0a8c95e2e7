// Converts NPR weights to <modelDir>/model.onnx + provenance.json.
// Official weights when $DEEPSAFE_WEIGHTS_MIRROR/npr/NPR.pth exists, else a random-weight fixture
// (seed 0) whose scores are meaningless. A no-op when the output is already up to date.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultModelDir, pythonExecutable, runPython } from "./python.js";

const outDir = defaultModelDir();
const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
const official = mirror ? join(mirror, "npr", "NPR.pth") : undefined;

const haveOfficial = official !== undefined && existsSync(official);
const args = haveOfficial
  ? ["--checkpoint", official, "--out-dir", outDir]
  : ["--random-seed", "0", "--out-dir", outDir];

// Never replace real weights converted earlier with the random fixture.
if (!haveOfficial && existsSync(join(outDir, "model.onnx"))) {
  try {
    const kind = (JSON.parse(readFileSync(join(outDir, "provenance.json"), "utf8")) as { kind?: string }).kind;
    if (kind && kind !== "random-fixture") {
      console.log(`npr: keeping the ${kind} weights already in ${outDir}`);
      process.exit(0);
    }
  } catch {
    // unreadable provenance: fall through and re-export
  }
}
if (!haveOfficial) {
  console.warn(
    `npr: no official weights (${official ?? "$DEEPSAFE_WEIGHTS_MIRROR unset"}); ` +
      "exporting RANDOM weights for testing only. Put NPR.pth at $DEEPSAFE_WEIGHTS_MIRROR/npr/NPR.pth for real scores.",
  );
}
try {
  process.stdout.write(runPython("export.py", [...args, ...process.argv.slice(2)]));
} catch (err) {
  const e = err as { stderr?: string; message: string };
  console.error(e.stderr?.trim() || e.message);
  console.error(`npr: conversion failed (python: ${pythonExecutable()}; set DEEPSAFE_PYTHON to change it)`);
  process.exit(1);
}
