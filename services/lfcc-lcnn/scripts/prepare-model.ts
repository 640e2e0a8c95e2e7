// Convert the official LFCC-LCNN checkpoints from a local weights mirror to ONNX:
//   DEEPSAFE_WEIGHTS_MIRROR=/path/to/weights npm run prepare-model -w @deepsafe/lfcc-lcnn [-- a-softmax] [-- --force]
// Reads <mirror>/nii_lfcc_lcnn/lfcc-lcnn-<variant>/trained_network.pt (sha256-pinned) and writes
// $DEEPSAFE_MODELS_DIR/<name>/ (default <repo>/.deepsafe/models/lfcc-lcnn and lfcc-lcnn-a-softmax):
// model.onnx + frontend.onnx + provenance.json. Idempotent (see the SDK's prepareModels). Needs Python
// with torch: $DEEPSAFE_PYTHON, else /usr/bin/python3.
import { fileURLToPath } from "node:url";
import { prepareModels } from "@deepsafe/sdk";
import { officialCheckpoint, parseVariant, readModelDir, VARIANTS } from "../src/onnx.js";
import type { Variant } from "../src/plan.js";

process.exitCode = await prepareModels<Variant>({
  service: "lfcc-lcnn",
  packageName: "@deepsafe/lfcc-lcnn",
  exportScript: fileURLToPath(new URL("../python/export.py", import.meta.url)),
  variants: ["sigmoid", "a-softmax"],
  parseVariant,
  modelName: (v) => VARIANTS[v].modelName,
  checkpoint: officialCheckpoint,
  readModelDir,
});
