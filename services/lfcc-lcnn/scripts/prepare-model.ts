// Convert the official LFCC-LCNN checkpoints from a local weights mirror to ONNX:
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/lfcc-lcnn [-- a-softmax] [-- --force]
// Reads <mirror>/nii_lfcc_lcnn/lfcc-lcnn-<variant>/trained_network.pt (sha256-pinned) and writes
// $DEEPSAFE_MODELS_DIR/<name>/ (default <repo>/.deepsafe/models/lfcc-lcnn and lfcc-lcnn-a-softmax):
// model.onnx + frontend.onnx + provenance.json. Idempotent. Needs Python with torch: $DEEPSAFE_PYTHON,
// else /usr/bin/python3.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { modelDir } from "@deepsafe/sdk";
import { checkpointPath, parseVariant, readModelDir, VARIANTS } from "../src/onnx.js";
import type { Variant } from "../src/plan.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const exportScript = join(here, "..", "python", "export.py");

export function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

async function upToDate(dir: string, variant: Variant): Promise<boolean> {
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
  const variants: Variant[] = named.length ? named.map(parseVariant) : ["sigmoid", "a-softmax"];

  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
  if (!mirror) {
    console.error(
      "lfcc-lcnn: DEEPSAFE_WEIGHTS_MIRROR is not set. Point it at a directory holding " +
        "nii_lfcc_lcnn/lfcc-lcnn-sigmoid/trained_network.pt and nii_lfcc_lcnn/lfcc-lcnn-a-softmax/trained_network.pt " +
        "(project/02-asvspoof/lfcc-lcnn-*/__pretrained/trained_network.pt of https://github.com/nii-yamagishilab/project-NN-Pytorch-scripts " +
        "at commit ac488e4711274aa2138253bd20ebec36d27e1052; see weights.json), " +
        "e.g. DEEPSAFE_WEIGHTS_MIRROR=/work/shared/weights npm run prepare-model -w @deepsafe/lfcc-lcnn",
    );
    return 1;
  }
  let failed = 0;
  for (const variant of variants) {
    const checkpoint = checkpointPath(mirror, variant);
    const out = modelDir(VARIANTS[variant].modelName);
    if (!existsSync(checkpoint)) {
      console.error(`lfcc-lcnn: ${checkpoint} not found (DEEPSAFE_WEIGHTS_MIRROR=${mirror}); skipping ${variant}`);
      failed++;
      continue;
    }
    if (!force && (await upToDate(out, variant))) {
      console.log(`lfcc-lcnn: ${out} is already converted from the official ${variant} weights (use --force to redo)`);
      continue;
    }
    const run = spawnSync(pythonBinary(), [exportScript, "--variant", variant, "--checkpoint", checkpoint, "--out", out], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (run.error) {
      console.error(`lfcc-lcnn: cannot run ${pythonBinary()} (${run.error.message}); set DEEPSAFE_PYTHON to a Python with torch`);
      return 1;
    }
    if (run.status !== 0) failed++;
    else console.log(`lfcc-lcnn: wrote ${out}`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
