// Convert the official RawGAT-ST checkpoints from a local weights mirror to ONNX:
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/rawgat-st [-- mul add cat] [-- --force]
// Reads <mirror>/rawgat_st/RawGAT_ST_<variant>/Best_epoch.pth (sha256-pinned), writes
// $DEEPSAFE_MODELS_DIR/<name>/ (default <repo>/.deepsafe/models/rawgat-st, rawgat-st-add, rawgat-st-cat):
// model.onnx + provenance.json. Without variant arguments it converts all three. Idempotent: a
// directory already holding the official conversion is left alone (then no mirror is needed), and it
// exits 1 when any requested variant is neither converted nor convertible. Needs Python with torch:
// $DEEPSAFE_PYTHON, else /usr/bin/python3.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { modelDir } from "@deepsafe/sdk";
import { checkpointUrl, parseVariant, readModelDir, VARIANTS, type RawGatVariant } from "../src/onnx.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const exportScript = join(here, "..", "python", "export.py");

function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

async function upToDate(dir: string, variant: RawGatVariant): Promise<boolean> {
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
  const variants: RawGatVariant[] = named.length ? [...new Set(named.map(parseVariant))] : ["mul", "add", "cat"];

  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
  let failed = 0;
  for (const variant of variants) {
    const { modelName, checkpointPath } = VARIANTS[variant];
    const out = modelDir(modelName);
    if (!force && (await upToDate(out, variant))) {
      console.log(`rawgat-st: ${out} is already converted from the official RawGAT-ST-${variant} weights (use --force to redo)`);
      continue;
    }
    if (!mirror) {
      console.error(
        `rawgat-st: DEEPSAFE_WEIGHTS_MIRROR is not set, so RawGAT-ST-${variant} cannot be converted. Point it at a directory ` +
          `holding ${checkpointPath} (download ${checkpointUrl(variant)}), e.g. ` +
          "DEEPSAFE_WEIGHTS_MIRROR=/work/shared/weights npm run prepare-model -w @deepsafe/rawgat-st",
      );
      failed++;
      continue;
    }
    const checkpoint = join(mirror, checkpointPath);
    if (!existsSync(checkpoint)) {
      console.error(
        `rawgat-st: ${checkpoint} not found (DEEPSAFE_WEIGHTS_MIRROR=${mirror}); download ${checkpointUrl(variant)} there. ` +
          `Skipping RawGAT-ST-${variant}`,
      );
      failed++;
      continue;
    }
    const run = spawnSync(pythonBinary(), [exportScript, "--variant", variant, "--checkpoint", checkpoint, "--out", out], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (run.error) {
      console.error(`rawgat-st: cannot run ${pythonBinary()} (${run.error.message}); set DEEPSAFE_PYTHON to a Python with torch`);
      return 1;
    }
    if (run.status !== 0) failed++;
    else console.log(`rawgat-st: wrote ${out}`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
