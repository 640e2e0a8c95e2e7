// RawGAT-ST detector service. RAWGAT_VARIANT=mul (default, model "rawgat-st"), add ("rawgat-st-add")
// or cat ("rawgat-st-cat"); PORT (default 8003); RAWGAT_MAX_WINDOWS caps the ~4 s windows scored per
// clip (default 32, longer clips are subsampled evenly).
import { positiveIntFromEnv, serveDetector } from "@deepsafe/sdk";
import { RawGatStModel } from "./model.js";
import { parseVariant } from "./onnx.js";

const model = new RawGatStModel(parseVariant(process.env.RAWGAT_VARIANT), { maxWindows: positiveIntFromEnv("RAWGAT_MAX_WINDOWS") });
await serveDetector(model, { port: Number(process.env.PORT ?? 8003) });
