// Writing an artifact: everything goes into a hidden staging directory beside the others, which is
// renamed into place whole; deploying then swaps the `current` symlink (gateway/src/stacking/artifact.ts).
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ARTIFACT_FORMAT, type FeatureColumn, MANIFEST_FILE, type Manifest, deployArtifact, mediaDir } from "../../gateway/src/stacking/artifact.js";
import type { MediaName } from "../evaluate/dataset.js";
import type { TrainResult } from "./train.js";

/** Sortable and unique enough for one machine: 20261126T095030-012Z. */
export function newArtifactId(now = new Date()): string {
  return now.toISOString().replace(/[-:]/g, "").replace(".", "-");
}

export function stagingDir(root: string, media: MediaName, id: string): string {
  const dir = join(mediaDir(root, media), `.staging-${id}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface ManifestInput {
  id: string;
  media: MediaName;
  staging: string;
  result: TrainResult;
  columns: FeatureColumn[];
  /** The rows trained on, in the order given to training. */
  rows: ReadonlyArray<{ values: Array<number | null>; label: 0 | 1 }>;
  dataset: { sha256: string; path: string };
  metrics: Record<string, unknown>;
}

/** Write ensemble.json beside the staged model.onnx (its digest taken from the file). */
export function writeManifest(m: ManifestInput): Manifest {
  const onnx = readFileSync(join(m.staging, "model.onnx"));
  const winner = m.result.candidates.find((c) => c.name === m.result.winner)!;
  const manifest: Manifest = {
    format: ARTIFACT_FORMAT,
    id: m.id,
    media: m.media,
    createdAt: new Date().toISOString(),
    classifier: m.result.winner,
    params: winner.params,
    calibration: { method: m.result.calibration.method, folds: m.result.calibration.folds },
    onnx: { file: "model.onnx", sha256: createHash("sha256").update(onnx).digest("hex"), input: m.result.onnx.input, output: m.result.onnx.output },
    features: m.columns,
    dataset: {
      sha256: m.dataset.sha256,
      files: m.rows.length,
      real: m.rows.filter((r) => r.label === 0).length,
      fake: m.rows.filter((r) => r.label === 1).length,
      path: m.dataset.path,
    },
    // Training rows with what the graph answered for them: the gateway re-checks these on load.
    reference: m.result.split.train.slice(0, 8).map((i) => ({ features: m.rows[i]!.values, pFake: m.result.onnx.proba[i]! })),
    metrics: m.metrics,
  };
  writeFileSync(join(m.staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Move the staged artifact into place (one rename) and, if asked, make it the deployed one. Returns its directory. */
export function publish(staging: string, root: string, media: MediaName, id: string, deploy: boolean): string {
  const dir = join(mediaDir(root, media), id);
  renameSync(staging, dir);
  if (deploy) deployArtifact(root, media, dir);
  return dir;
}
