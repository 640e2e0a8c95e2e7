// Convert UniversalFakeDetect to <modelDir>/model.onnx + provenance.json (CLIP ViT-L/14 + head, one graph):
//   npm run prepare-model -w @deepsafe/ufd [-- --backbone /path/to/ViT-L-14.pt] [-- --head fc_weights.pth] [-- --force]
//
// Needs two official files:
//   head      $DEEPSAFE_WEIGHTS_MIRROR/universalfakedetect/fc_weights.pth (4 KB), or --head PATH
//   backbone  OpenAI's CLIP ViT-L-14.pt (~890 MB, sha256 b8cca3fd…): --backbone PATH, else
//             $DEEPSAFE_WEIGHTS_MIRROR/clip/ViT-L-14.pt, else <weights cache>/clip/ViT-L-14.pt
// Both are listed in weights.json, so `npm run models -- pull ufd` (and the first `npm start`) fetch
// them from their public URLs or a mirror before running this script.
// Without the backbone nothing is converted and the script exits 1 (the launcher then lists ufd as
// unavailable) — unless a real conversion already sits in the model folder, which is kept. There is no
// random-weight fallback here; the tests make their own fixture. The sha256 pins are checked by export.py:
// only the published files are labelled "official" (`-- --kind project-trained` for other weights).
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { weightsCache } from "@deepsafe/sdk";
import {
  BACKBONE_MIRROR_PATH,
  BACKBONE_SHA256,
  BACKBONE_URL,
  defaultModelDir,
  HEAD_MIRROR_PATH,
  pythonExecutable,
  pythonDir,
} from "./python.js";
import { spawnSync } from "node:child_process";

const HEAD_URL =
  "https://github.com/WisconsinAIVision/UniversalFakeDetect/raw/76a0e3e60a8a06458707a625d269ba815a2e5919/pretrained_weights/fc_weights.pth";

function main(): number {
  const { values } = parseArgs({
    options: {
      backbone: { type: "string" },
      head: { type: "string" },
      force: { type: "boolean", default: false },
      kind: { type: "string" },
    },
  });
  // Relative paths are the user's: npm runs the script inside services/ufd but keeps the caller's
  // directory in INIT_CWD.
  const userPath = (p: string) => resolve(process.env.INIT_CWD ?? process.cwd(), p);
  const outDir = defaultModelDir();
  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;

  const backboneCandidates = values.backbone
    ? [userPath(values.backbone)]
    : [...(mirror ? [join(mirror, BACKBONE_MIRROR_PATH)] : []), join(weightsCache(), BACKBONE_MIRROR_PATH)];
  const backbone = backboneCandidates.find((p) => existsSync(p));
  if (!backbone) {
    if (values.backbone) {
      console.error(`ufd: --backbone ${values.backbone} does not exist`);
      return 1;
    }
    const kept = keptConversion(outDir);
    if (kept) {
      console.log(`ufd: no backbone supplied; keeping the ${kept} conversion already in ${outDir}`);
      return 0;
    }
    console.error(
      [
        "ufd: cannot prepare UniversalFakeDetect: the CLIP ViT-L/14 backbone is not available.",
        `  Looked for: ${backboneCandidates.join(", ")}`,
        "  UFD is a linear probe on OpenAI's CLIP ViT-L/14 image encoder, which DeepSafe does not download",
        "  (about 890 MB). Supply it and convert once (the fp32 ONNX graph is ~1.2 GB, written outside git):",
        `    curl -L -o ViT-L-14.pt ${BACKBONE_URL}`,
        `    sha256sum ViT-L-14.pt   # must be ${BACKBONE_SHA256}`,
        "    npm run prepare-model -w @deepsafe/ufd -- --backbone ViT-L-14.pt",
        `  or place it at $DEEPSAFE_WEIGHTS_MIRROR/${BACKBONE_MIRROR_PATH} (next to ${HEAD_MIRROR_PATH}).`,
        "  Until then the ufd detector is unavailable.",
      ].join("\n"),
    );
    return 1;
  }

  const head = values.head ? userPath(values.head) : mirror ? join(mirror, HEAD_MIRROR_PATH) : undefined;
  if (!head || !existsSync(head)) {
    console.error(
      `ufd: the UFD head ${head ?? `$DEEPSAFE_WEIGHTS_MIRROR/${HEAD_MIRROR_PATH} ($DEEPSAFE_WEIGHTS_MIRROR unset)`} ` +
        `is missing. Fetch it with \`npm run models -- pull ufd\`, or download ${HEAD_URL} and pass --head PATH.`,
    );
    return 1;
  }

  const args = [join(pythonDir, "export.py"), "--backbone", backbone, "--head", head, "--out-dir", outDir];
  if (values.force) args.push("--force");
  if (values.kind) args.push("--kind", values.kind);
  console.log(`ufd: converting ${backbone} + ${head} -> ${outDir} (a few minutes for ViT-L/14; ~1.2 GB written)`);
  const run = spawnSync(pythonExecutable(), args, { stdio: ["ignore", "inherit", "inherit"] });
  if (run.error) {
    console.error(`ufd: cannot run ${pythonExecutable()} (${run.error.message}); set DEEPSAFE_PYTHON to a Python with torch`);
    return 1;
  }
  if (run.status !== 0) {
    console.error(`ufd: conversion failed (export.py exit ${run.status})`);
    return 1;
  }
  return 0;
}

/** The kind of a non-random conversion already present ("official", "project-trained"), if any. */
function keptConversion(dir: string): string | undefined {
  if (!existsSync(join(dir, "model.onnx"))) return undefined;
  try {
    const kind = (JSON.parse(readFileSync(join(dir, "provenance.json"), "utf8")) as { kind?: string }).kind;
    return kind === "official" || kind === "project-trained" ? kind : undefined;
  } catch {
    return undefined;
  }
}

process.exitCode = main();
