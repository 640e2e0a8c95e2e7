// Make sure detectors have their converted weights: fetch the official checkpoints each service lists
// in weights.json (local mirror, internal base URL or public URL; pinned digests), then run the
// service's own idempotent `prepare-model` script with DEEPSAFE_WEIGHTS_MIRROR pointing at them.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fetchWeights, modelDir, readWeightsList } from "@deepsafe/sdk";
import type { DetectorConfig, Registry } from "../../gateway/src/registry.js";
import { servicePackages } from "./mesh.js";

export interface Preparation {
  ready: string[];
  /** Detector name → why it cannot run. */
  unavailable: Map<string, string>;
}

interface PackageResult {
  ok: boolean;
  why?: string;
}

/** Fetch and convert one service package's weights; `progress` shows download bars. */
export async function preparePackage(dir: string, progress = false): Promise<PackageResult> {
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; scripts?: Record<string, string> };
  const env = { ...process.env };
  let fetchError: string | undefined;
  const list = await readWeightsList(dir);
  if (list.length > 0) {
    try {
      env.DEEPSAFE_WEIGHTS_MIRROR = await fetchWeights(list, {
        mirror: process.env.DEEPSAFE_WEIGHTS_MIRROR,
        baseUrl: process.env.DEEPSAFE_WEIGHTS_BASE_URL,
        progress,
      });
    } catch (err) {
      fetchError = (err as Error).message;
      console.warn(`${pkg.name}: official weights not available: ${fetchError}`);
    }
  }
  if (!pkg.scripts?.["prepare-model"]) return { ok: true };
  const run = spawnSync("npm", ["run", "--silent", "prepare-model"], { cwd: dir, stdio: "inherit", env });
  if (run.status === 0) return { ok: true };
  return { ok: false, why: fetchError ? `official weights not available (${fetchError})` : `\`npm run prepare-model -w ${pkg.name}\` failed` };
}

export interface PrepareOptions {
  /** Detector names (default: every enabled one). */
  names?: string[];
  /** Download progress bars. */
  progress?: boolean;
  /**
   * Let detectors run random-weight test fixtures (tests do). Off by default: a detector without real
   * weights is listed as unavailable rather than run, so the default mesh only ever runs real models.
   */
  allowRandomWeights?: boolean;
}

/** The kind recorded in a converted model's provenance.json, if any. */
function weightsKind(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(modelDir(name), "provenance.json"), "utf8")) as { kind?: string }).kind;
  } catch {
    return undefined;
  }
}

/** Prepare detectors; each package is prepared once. */
export async function prepareModels(registry: Registry, options: PrepareOptions = {}): Promise<Preparation> {
  const { names, progress = false } = options;
  const allowRandom = options.allowRandomWeights ?? process.env.DEEPSAFE_ALLOW_RANDOM_WEIGHTS === "1";
  const packages = servicePackages();
  const ready: string[] = [];
  const unavailable = new Map<string, string>();
  const done = new Map<string, PackageResult>();
  const wanted: DetectorConfig[] = names
    ? names.map((n) => {
        const d = registry.detectors.find((x) => x.name === n);
        if (!d) throw new Error(`no detector "${n}" in the registry (known: ${registry.detectors.map((x) => x.name).join(", ")})`);
        return d;
      })
    : registry.detectors.filter((d) => d.enabled);
  for (const detector of wanted) {
    const dir = packages.get(detector.package);
    if (!dir) {
      unavailable.set(detector.name, `package ${detector.package} not found under services/`);
      continue;
    }
    if (!done.has(dir)) done.set(dir, await preparePackage(dir, progress));
    const result = done.get(dir)!;
    if (!result.ok) unavailable.set(detector.name, result.why ?? "weights could not be prepared");
    else if (!allowRandom && weightsKind(detector.name) === "random-fixture") {
      unavailable.set(detector.name, "only random test weights are available (its official checkpoint could not be had; see `npm run models -- pull " + detector.name + "`)");
    } else ready.push(detector.name);
  }
  return { ready, unavailable };
}
