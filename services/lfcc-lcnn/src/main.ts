// LFCC-LCNN detector service. LFCC_LCNN_VARIANT=sigmoid (default, model "lfcc-lcnn") or a-softmax
// (model "lfcc-lcnn-a-softmax"); PORT (default 8004); LFCC_LCNN_MAX_WINDOWS caps the 7.5 s windows
// scored per clip (default 32, longer clips are subsampled).
import { positiveIntFromEnv, serveDetector } from "@deepsafe/sdk";
import { LfccLcnnModel } from "./model.js";
import { parseVariant } from "./onnx.js";

const model = new LfccLcnnModel(parseVariant(process.env.LFCC_LCNN_VARIANT), { maxWindows: positiveIntFromEnv("LFCC_LCNN_MAX_WINDOWS") });
await serveDetector(model, { port: Number(process.env.PORT ?? 8004) });
