// The body of an audio service's scripts/prepare-model.ts: convert the official checkpoints of the
// requested variants from $DEEPSAFE_WEIGHTS_MIRROR with the service's python/export.py
// (`--variant V --checkpoint FILE --out DIR`; it checks the pinned sha256) into modelDir(<model name>).
// Idempotent: a directory already holding the official conversion is left alone (then no mirror is
// needed); exits 1 when any requested variant is neither converted nor convertible, saying what to set
// or download.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Provenance } from "../model.js";
import { modelDir } from "../paths.js";

/** The Python with torch that converts weights: $DEEPSAFE_PYTHON, else /usr/bin/python3, else python3 on PATH. */
export function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

export interface PrepareSpec<V extends string> {
  /** Short service name that starts every line, e.g. "aasist". */
  service: string;
  /** npm package, for the command line in the help. */
  packageName: string;
  /** The service's python/export.py. */
  exportScript: string;
  /** Variants converted when none is named on the command line. */
  variants: readonly V[];
  parseVariant(name: string): V;
  /** How a variant is named in messages, e.g. "RawGAT-ST-mul" (default: as is). */
  label?(variant: V): string;
  /** Name of the variant's model (its directory is modelDir(name)). */
  modelName(variant: V): string;
  /** The official checkpoint: its path inside the weights mirror and its public URL. */
  checkpoint(variant: V): { path: string; url: string };
  /** Reads and checks a converted directory (throws when it is absent or unusable). */
  readModelDir(dir: string, variant: V): Promise<{ provenance: Provenance }>;
}

/** Run a prepare-model command line (variant names and --force); returns the exit status. */
export async function prepareModels<V extends string>(spec: PrepareSpec<V>, argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const force = argv.includes("--force");
  const named = argv.filter((a) => !a.startsWith("--"));
  const variants: V[] = named.length ? [...new Set(named.map((n) => spec.parseVariant(n)))] : [...spec.variants];
  const label = (v: V) => spec.label?.(v) ?? v;
  const say = (line: string) => console.log(`${spec.service}: ${line}`);
  const complain = (line: string) => console.error(`${spec.service}: ${line}`);

  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
  let failed = 0;
  for (const variant of variants) {
    const out = modelDir(spec.modelName(variant));
    if (!force && (await isOfficial(spec, out, variant))) {
      say(`${out} is already converted from the official ${label(variant)} weights (use --force to redo)`);
      continue;
    }
    const { path, url } = spec.checkpoint(variant);
    if (!mirror) {
      complain(
        `DEEPSAFE_WEIGHTS_MIRROR is not set, so ${label(variant)} cannot be converted. Point it at a directory ` +
          `holding ${path} (download ${url}), e.g. ` +
          `DEEPSAFE_WEIGHTS_MIRROR=/work/shared/weights npm run prepare-model -w ${spec.packageName}`,
      );
      failed++;
      continue;
    }
    const checkpoint = join(mirror, path);
    if (!existsSync(checkpoint)) {
      complain(`${checkpoint} not found (DEEPSAFE_WEIGHTS_MIRROR=${mirror}); download ${url} there. Skipping ${label(variant)}`);
      failed++;
      continue;
    }
    const run = spawnSync(pythonBinary(), [spec.exportScript, "--variant", variant, "--checkpoint", checkpoint, "--out", out], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (run.error) {
      complain(`cannot run ${pythonBinary()} (${run.error.message}); set DEEPSAFE_PYTHON to a Python with torch`);
      return 1;
    }
    if (run.status !== 0) failed++;
    else say(`wrote ${out}`);
  }
  return failed ? 1 : 0;
}

async function isOfficial<V extends string>(spec: PrepareSpec<V>, dir: string, variant: V): Promise<boolean> {
  try {
    return (await spec.readModelDir(dir, variant)).provenance.kind === "official";
  } catch {
    return false;
  }
}
