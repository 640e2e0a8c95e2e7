// A stacking artifact: one directory written by `npm run retrain` and read by the gateway.
//
//   <root>/<media>/<id>/ensemble.json   this manifest (feature columns, classifier, metrics, dataset hash)
//   <root>/<media>/<id>/model.onnx      the whole fitted pipeline: imputer, scaler, classifier, calibration
//   <root>/<media>/current -> <id>      the deployed one: a symlink, replaced atomically by rename(2)
//
// The manifest is the contract between the two: the gateway serves the graph only when its feature
// columns are exactly the detectors (name, version, weights) that answer the request.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

export const MANIFEST_FILE = "ensemble.json";
export const CURRENT_LINK = "current";
export const ARTIFACT_FORMAT = "deepsafe-stacking/1";

export const FeatureColumnSchema = z.strictObject({
  /** Detector name, as in the registry. */
  model: z.string().min(1),
  /** The detector's ModelInfo.version when the features were computed. */
  version: z.string(),
  /** WeightsKind name (OFFICIAL, PROJECT_TRAINED, RANDOM_FIXTURE). */
  weightsKind: z.string(),
  /** The official checkpoint's sha256 ("" when none, e.g. a random fixture). */
  checkpointSha256: z.string(),
  /** The ONNX graph's sha256 (compared only when there is no checkpoint digest). */
  onnxSha256: z.string(),
});
export type FeatureColumn = z.infer<typeof FeatureColumnSchema>;

export const ManifestSchema = z.object({
  format: z.literal(ARTIFACT_FORMAT),
  id: z.string().min(1),
  media: z.enum(["image", "video", "audio"]),
  createdAt: z.string(),
  /** Winning classifier (picked by cross-validated AUC) and its tuned parameters. */
  classifier: z.string(),
  params: z.record(z.string(), z.unknown()),
  calibration: z.object({ method: z.string(), folds: z.number().int() }),
  onnx: z.object({
    file: z.string().min(1),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    input: z.string().min(1),
    output: z.string().min(1),
  }),
  /** In input order: column i of the ONNX input is features[i]. */
  features: z.array(FeatureColumnSchema).min(1),
  dataset: z.object({ sha256: z.string(), files: z.number().int(), real: z.number().int(), fake: z.number().int(), path: z.string() }),
  /**
   * A few training rows (null = missing, imputed) and the P(fake) the graph gave for them in
   * onnxruntime (Python): the gateway re-runs them when loading and refuses a graph that disagrees.
   */
  reference: z.array(z.object({ features: z.array(z.number().nullable()), pFake: z.number() })).min(1),
  /** Summary numbers; the full report sits beside the manifest. */
  metrics: z.record(z.string(), z.unknown()),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** An artifact that cannot be used, with why. */
export class ArtifactError extends Error {
  override name = "ArtifactError";
}

const REPO_ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** The artifact root: DEEPSAFE_ENSEMBLES_DIR, else the registry's stacking.dir; relative paths are from the repository root. */
export function ensemblesRoot(configured: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(REPO_ROOT, env.DEEPSAFE_ENSEMBLES_DIR || configured);
}

export function mediaDir(root: string, media: string): string {
  return join(resolve(root), media);
}

/** The deployed artifact's directory, or undefined when nothing is deployed. */
export function currentArtifactDir(root: string, media: string): string | undefined {
  const dir = mediaDir(root, media);
  let target: string;
  try {
    target = readlinkSync(join(dir, CURRENT_LINK));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ArtifactError(`${join(dir, CURRENT_LINK)}: ${(err as Error).message}`);
  }
  return resolve(dir, target);
}

/** Read and check an artifact directory's manifest and graph; returns both (graph bytes checked against the manifest digest). */
export function readArtifact(dir: string): { manifest: Manifest; onnx: Buffer } {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), "utf8"));
  } catch (err) {
    throw new ArtifactError(`cannot read ${join(dir, MANIFEST_FILE)}: ${(err as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ArtifactError(`invalid ${join(dir, MANIFEST_FILE)}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const manifest = parsed.data;
  let onnx: Buffer;
  try {
    onnx = readFileSync(join(dir, manifest.onnx.file));
  } catch (err) {
    throw new ArtifactError(`cannot read ${join(dir, manifest.onnx.file)}: ${(err as Error).message}`);
  }
  const digest = createHash("sha256").update(onnx).digest("hex");
  if (digest !== manifest.onnx.sha256) throw new ArtifactError(`${join(dir, manifest.onnx.file)} has sha256 ${digest}, the manifest says ${manifest.onnx.sha256}`);
  for (const r of manifest.reference) {
    if (r.features.length !== manifest.features.length) throw new ArtifactError(`invalid ${join(dir, MANIFEST_FILE)}: a reference row has ${r.features.length} values for ${manifest.features.length} columns`);
  }
  return { manifest, onnx };
}

/**
 * Make `dir` (an artifact directory under <root>/<media>/) the deployed one: a new symlink renamed
 * over `current`, so a reader sees the old or the new artifact, never a half-written pointer.
 */
export function deployArtifact(root: string, media: string, dir: string): void {
  const parent = mediaDir(root, media);
  mkdirSync(parent, { recursive: true });
  const id = basename(dir);
  if (resolve(parent, id) !== resolve(dir)) throw new ArtifactError(`${dir} is not inside ${parent}`);
  readArtifact(dir); // never point `current` at something the gateway would refuse
  const tmp = join(parent, `.${CURRENT_LINK}-${process.pid}-${Date.now()}`);
  rmSync(tmp, { force: true });
  symlinkSync(id, tmp);
  renameSync(tmp, join(parent, CURRENT_LINK));
}
