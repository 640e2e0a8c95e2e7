// AASIST detector service. AASIST_VARIANT=AASIST (default) or AASIST-L; PORT (default 8001);
// AASIST_MAX_WINDOWS caps the ~4 s windows scored per clip (default 32, longer clips are subsampled).
import { positiveIntFromEnv, serveDetector } from "@deepsafe/sdk";
import { AasistModel } from "./model.js";
import { parseVariant } from "./onnx.js";

const model = new AasistModel(parseVariant(process.env.AASIST_VARIANT), { maxWindows: positiveIntFromEnv("AASIST_MAX_WINDOWS") });
await serveDetector(model, { port: Number(process.env.PORT ?? 8001) });
