// Convert the official RawGAT-ST checkpoints from a local weights mirror to ONNX:
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/rawgat-st [-- mul add cat] [-- --force]
// Reads <mirror>/rawgat_st/RawGAT_ST_<variant>/Best_epoch.pth (sha256-pinned), writes
// $DEEPSAFE_MODELS_DIR/<name>/ (default <repo>/.deepsafe/models/rawgat-st, rawgat-st-add, rawgat-st-cat):
// model.onnx + provenance.json. Without variant arguments it converts all three. Idempotent (see the
// SDK's prepareModels). Needs Python with torch: $DEEPSAFE_PYTHON, else /usr/bin/python3.
import { fileURLToPath } from "node:url";
import { prepareModels } from "@deepsafe/sdk";
import { checkpointUrl, parseVariant, readModelDir, VARIANTS, type RawGatVariant } from "../src/onnx.js";

process.exitCode = await prepareModels<RawGatVariant>({
  service: "rawgat-st",
  packageName: "@deepsafe/rawgat-st",
  exportScript: fileURLToPath(new URL("../python/export.py", import.meta.url)),
  variants: ["mul", "add", "cat"],
  parseVariant,
  label: (v) => `RawGAT-ST-${v}`,
  modelName: (v) => VARIANTS[v].modelName,
  checkpoint: (v) => ({ path: VARIANTS[v].checkpointPath, url: checkpointUrl(v) }),
  readModelDir,
});
