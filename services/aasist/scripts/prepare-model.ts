// Convert the official AASIST / AASIST-L checkpoints from a local weights mirror to ONNX:
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/aasist [-- AASIST-L] [-- --force]
// Reads <mirror>/aasist/<variant>.pth (sha256-pinned), writes $DEEPSAFE_MODELS_DIR/<name>/ (default
// <repo>/.deepsafe/models/aasist and aasist-l): model.onnx + provenance.json. Needs Python with torch:
// $DEEPSAFE_PYTHON, else /usr/bin/python3.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { modelDir } from "@deepsafe/sdk";
import { parseVariant, readModelDir, VARIANTS, type AasistVariant } from "../src/onnx.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const exportScript = join(here, "..", "python", "export.py");

export function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

async function upToDate(dir: string, variant: AasistVariant): Promise<boolean> {
  try {
    const { provenance } = await readModelDir(dir, variant);
    return provenance.kind === "official";
  } catch {
    return false;
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const named = args.filter((a) => !a.startsWith("--"));
  const variants: AasistVariant[] = named.length ? named.map(parseVariant) : ["AASIST", "AASIST-L"];

  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
  if (!mirror) {
    console.error(
      "aasist: DEEPSAFE_WEIGHTS_MIRROR is not set. Point it at a directory holding aasist/AASIST.pth and " +
        "aasist/AASIST-L.pth (from https://github.com/clovaai/aasist/tree/a04c9863f63d44471dde8a6abcb3b082b07cd1d1/models/weights), " +
        "e.g. DEEPSAFE_WEIGHTS_MIRROR=/work/shared/weights npm run prepare-model -w @deepsafe/aasist",
    );
    return 1;
  }
  let failed = 0;
  for (const variant of variants) {
    const { modelName, checkpointFile } = VARIANTS[variant];
    const checkpoint = join(mirror, "aasist", checkpointFile);
    const out = modelDir(modelName);
    if (!existsSync(checkpoint)) {
      console.error(`aasist: ${checkpoint} not found (DEEPSAFE_WEIGHTS_MIRROR=${mirror}); skipping ${variant}`);
      failed++;
      continue;
    }
    if (!force && (await upToDate(out, variant))) {
      console.log(`aasist: ${out} is already converted from the official ${variant} weights (use --force to redo)`);
      continue;
    }
    const run = spawnSync(pythonBinary(), [exportScript, "--variant", variant, "--checkpoint", checkpoint, "--out", out], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (run.error) {
      console.error(`aasist: cannot run ${pythonBinary()} (${run.error.message}); set DEEPSAFE_PYTHON to a Python with torch`);
      return 1;
    }
    if (run.status !== 0) failed++;
    else console.log(`aasist: wrote ${out}`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
