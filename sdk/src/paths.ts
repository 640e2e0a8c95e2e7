// Where converted models live. One directory per model: model.onnx + provenance.json.
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root (sdk/src/ is two levels below it). */
export const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../..");

/** Directory of one model's converted weights: $DEEPSAFE_MODELS_DIR/<name>, default <repo>/.deepsafe/models/<name>. */
export function modelDir(name: string): string {
  return join(process.env.DEEPSAFE_MODELS_DIR ?? join(repoRoot, ".deepsafe", "models"), name);
}

/** A file inside a model's directory. */
export function weightsPath(name: string, file: string): string {
  return join(modelDir(name), file);
}

/** The proto sources, for server reflection. */
export const protoRoot = join(repoRoot, "proto");
