// Install the shared face detector: copy the official YuNet ONNX graph from a local weights mirror
// ($DEEPSAFE_WEIGHTS_MIRROR/yunet/yunet_n_dynamic.onnx, sha256-pinned in weights.json) into
// modelDir("face-detector") with a provenance.json. Idempotent. The product never reads the mirror at
// run time: services load modelDir("face-detector")/model.onnx through loadFaceDetector().
//
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-face-detector -w @deepsafe/sdk [-- --force]
// (the command line is prepare-cli.ts)
import { copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Provenance } from "../model.js";
import { modelDir } from "../paths.js";
import { readProvenance, sha256File } from "../provenance.js";
import { FaceDetector, type FaceDetectorOptions } from "./yunet.js";

export const FACE_DETECTOR_MODEL = "face-detector";

export interface WeightsEntry {
  path: string;
  url: string;
  sha256: string;
  bytes: number;
  license: string;
}

export const faceDetectorWeights: WeightsEntry[] = JSON.parse(
  readFileSync(fileURLToPath(new URL("./weights.json", import.meta.url)), "utf8"),
) as WeightsEntry[];

/** The ONNX graph served (the .pth next to it only feeds the Python parity reference). */
export const faceDetectorGraph: WeightsEntry = faceDetectorWeights.find((w) => w.path.endsWith(".onnx"))!;

const DESCRIPTION =
  "YuNet-n face detector (WIDER FACE; Wu, Peng, Yu 2023), official dynamic-shape ONNX export of " +
  "ShiqiYu/libfacedetection.train; input BGR 0..255, boxes + 5 landmarks";

export interface PrepareFaceDetectorOptions {
  /** Weights mirror (default $DEEPSAFE_WEIGHTS_MIRROR). */
  mirror?: string;
  /** Destination (default modelDir("face-detector")). */
  dir?: string;
  force?: boolean;
}

export interface PreparedFaceDetector {
  dir: string;
  provenance: Provenance;
  /** False when the directory already held the pinned graph. */
  copied: boolean;
}

export async function prepareFaceDetector(options: PrepareFaceDetectorOptions = {}): Promise<PreparedFaceDetector> {
  const dir = options.dir ?? modelDir(FACE_DETECTOR_MODEL);
  const entry = faceDetectorGraph;
  if (!options.force) {
    try {
      const provenance = await readProvenance(dir);
      if (provenance.kind === "official" && provenance.onnxSha256 === entry.sha256) return { dir, provenance, copied: false };
    } catch {
      // not prepared yet, or damaged: prepare again
    }
  }
  const mirror = options.mirror ?? process.env.DEEPSAFE_WEIGHTS_MIRROR;
  if (!mirror) {
    throw new Error(
      `face detector: DEEPSAFE_WEIGHTS_MIRROR is not set. Point it at a folder holding ${entry.path} ` +
        `(from ${entry.url}), e.g. DEEPSAFE_WEIGHTS_MIRROR=/work/shared/weights`,
    );
  }
  const source = join(resolve(mirror), entry.path);
  if (!existsSync(source)) throw new Error(`face detector: ${source} not found (DEEPSAFE_WEIGHTS_MIRROR=${mirror}); download ${entry.url}`);
  const actual = await sha256File(source);
  if (actual !== entry.sha256) {
    throw new Error(`face detector: ${source} has sha256 ${actual}, expected ${entry.sha256} (${entry.url})`);
  }
  await mkdir(dir, { recursive: true });
  // Write under temporary names and rename, so a reader never sees a half-copied graph.
  const tmpGraph = join(dir, `model.onnx.${process.pid}.tmp`);
  await copyFile(source, tmpGraph);
  if ((await sha256File(tmpGraph)) !== entry.sha256) {
    await rm(tmpGraph, { force: true });
    throw new Error(`face detector: the copy in ${dir} does not match ${entry.sha256}`);
  }
  const provenance: Provenance = {
    kind: "official",
    source: entry.url,
    checkpointSha256: entry.sha256,
    onnxSha256: entry.sha256,
    license: entry.license,
    description: DESCRIPTION,
  };
  await rename(tmpGraph, join(dir, "model.onnx"));
  await writeFile(join(dir, "provenance.json"), JSON.stringify(provenance, null, 2) + "\n");
  return { dir, provenance: await readProvenance(dir), copied: true };
}

/** Open the prepared detector (checks its provenance and sha256 first). */
export async function loadFaceDetector(
  threads = 1,
  options: FaceDetectorOptions = {},
  dir = modelDir(FACE_DETECTOR_MODEL),
): Promise<{ detector: FaceDetector; provenance: Provenance }> {
  let provenance: Provenance;
  try {
    provenance = await readProvenance(dir);
  } catch (err) {
    throw new Error(
      `face detector not prepared (${(err as Error).message}); run \`npm run prepare-face-detector -w @deepsafe/sdk\``,
    );
  }
  const detector = await FaceDetector.load(join(dir, "model.onnx"), threads, options);
  return { detector, provenance };
}
