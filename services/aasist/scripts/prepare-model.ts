// Convert the official AASIST / AASIST-L checkpoints from a local weights mirror to ONNX:
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/aasist [-- AASIST-L] [-- --force]
// Reads <mirror>/aasist/<variant>.pth (sha256-pinned), writes $DEEPSAFE_MODELS_DIR/<name>/ (default
// <repo>/.deepsafe/models/aasist and aasist-l): model.onnx + provenance.json. Idempotent (see the SDK's
// prepareModels). Needs Python with torch: $DEEPSAFE_PYTHON, else /usr/bin/python3.
import { fileURLToPath } from "node:url";
import { prepareModels } from "@deepsafe/sdk";
import { checkpointUrl, parseVariant, readModelDir, VARIANTS, type AasistVariant } from "../src/onnx.js";

process.exitCode = await prepareModels<AasistVariant>({
  service: "aasist",
  packageName: "@deepsafe/aasist",
  exportScript: fileURLToPath(new URL("../python/export.py", import.meta.url)),
  variants: ["AASIST", "AASIST-L"],
  parseVariant,
  modelName: (v) => VARIANTS[v].modelName,
  checkpoint: (v) => ({ path: `aasist/${VARIANTS[v].checkpointFile}`, url: checkpointUrl(v) }),
  readModelDir,
});
