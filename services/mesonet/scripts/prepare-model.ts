// Convert the published MesoNet weights from a local weights mirror to ONNX:
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/mesonet [-- Meso4_DF ...] [-- --force]
// Reads <mirror>/mesonet/<weights>.h5 (sha256-pinned) for each of the four files (or those named) and writes
// <models>/mesonet/<weights>/{model.onnx, provenance.json}; the default weights ($MESONET_WEIGHTS, else
// MesoInception_DF) are also copied to <models>/mesonet/ itself, and the whole tree to <models>/mesonet-video/
// (the video service's directory). Also installs the SDK's face detector (YuNet, <mirror>/yunet/
// yunet_n_dynamic.onnx, pinned) into <models>/face-detector. Idempotent: up-to-date conversions are kept.
// Needs Python with torch and h5py: $DEEPSAFE_PYTHON, else /usr/bin/python3.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { modelDir, prepareFaceDetector } from "@deepsafe/sdk";
import { parseWeights, readModelDir, WEIGHTS, WEIGHTS_NAMES, type MesoWeights } from "../src/onnx.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const exportScript = join(here, "..", "python", "export.py");

export function pythonBinary(): string {
  return process.env.DEEPSAFE_PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
}

async function isOfficial(dir: string, weights: MesoWeights): Promise<boolean> {
  try {
    const { provenance } = await readModelDir(dir, weights);
    return provenance.kind === "official" && provenance.weights === weights;
  } catch {
    return false;
  }
}

/** Copy model.onnx + provenance.json (each via a temp name, so a reader never sees half a file). */
function copyConversion(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const file of ["model.onnx", "provenance.json"]) {
    const tmp = join(to, `.${file}.tmp`);
    copyFileSync(join(from, file), tmp);
    renameSync(tmp, join(to, file));
  }
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const force = args.includes("--force");
  const named = args.filter((a) => !a.startsWith("--"));
  const wanted: MesoWeights[] = named.length ? named.map(parseWeights) : WEIGHTS_NAMES;
  const defaultWeights = parseWeights(process.env.MESONET_WEIGHTS);

  const mirror = process.env.DEEPSAFE_WEIGHTS_MIRROR;
  if (!mirror) {
    console.error(
      "mesonet: DEEPSAFE_WEIGHTS_MIRROR is not set. Point it at a directory holding mesonet/<weights>.h5 " +
        `(${WEIGHTS_NAMES.join(", ")}; from https://github.com/DariusAf/MesoNet/tree/2144d56a30e48cdcac1976ff13a1c5cdc86376c6/weights), ` +
        "e.g. DEEPSAFE_WEIGHTS_MIRROR=/work/shared/weights npm run prepare-model -w @deepsafe/mesonet",
    );
    return 1;
  }
  const root = modelDir("mesonet");
  let failed = 0;
  try {
    const faces = await prepareFaceDetector({ mirror });
    console.log(`mesonet: face detector ${faces.copied ? "installed in" : "already in"} ${faces.dir}`);
  } catch (err) {
    console.error(`mesonet: ${(err as Error).message}`);
    failed++;
  }
  for (const weights of wanted) {
    const checkpoint = join(mirror, "mesonet", `${weights}.h5`);
    const out = join(root, weights);
    if (!existsSync(checkpoint)) {
      console.error(`mesonet: ${checkpoint} not found (DEEPSAFE_WEIGHTS_MIRROR=${mirror}); skipping ${weights}`);
      failed++;
      continue;
    }
    if (!force && (await isOfficial(out, weights))) {
      console.log(`mesonet: ${out} is already converted from the official ${weights}.h5`);
      continue;
    }
    const run = spawnSync(
      pythonBinary(),
      [exportScript, "--weights", weights, "--checkpoint", checkpoint, "--out", out, ...(force ? ["--force"] : [])],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    if (run.error) {
      console.error(`mesonet: cannot run ${pythonBinary()} (${run.error.message}); set DEEPSAFE_PYTHON to a Python with torch and h5py`);
      return 1;
    }
    if (run.status !== 0) {
      failed++;
      continue;
    }
    console.log(`mesonet: wrote ${out} (${WEIGHTS[weights].architecture}, official ${weights}.h5)`);
  }

  // The default conversion at the top of the directory (what `models status` reads and a bare load uses),
  // and the same tree for the video service.
  const source = join(root, defaultWeights);
  if (!(await isOfficial(source, defaultWeights))) {
    console.error(`mesonet: the default weights ${defaultWeights} are not converted; the services cannot start`);
    return 1;
  }
  copyConversion(source, root);
  const videoRoot = modelDir("mesonet-video");
  for (const weights of WEIGHTS_NAMES) {
    if (await isOfficial(join(root, weights), weights)) copyConversion(join(root, weights), join(videoRoot, weights));
  }
  copyConversion(source, videoRoot);
  console.log(`mesonet: default ${defaultWeights} in ${root} and ${videoRoot}`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
