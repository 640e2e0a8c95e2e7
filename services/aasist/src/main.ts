// AASIST detector service. AASIST_VARIANT=AASIST (default) or AASIST-L; PORT (default 8001);
// AASIST_MAX_WINDOWS caps the ~4 s windows scored per clip (default 32, longer clips are subsampled).
import { serveDetector } from "@deepsafe/sdk";
import { AasistModel } from "./model.js";
import { parseVariant } from "./onnx.js";

function optionalInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const model = new AasistModel(parseVariant(process.env.AASIST_VARIANT), {
  maxWindows: optionalInt("AASIST_MAX_WINDOWS"),
});
await serveDetector(model, { port: Number(process.env.PORT ?? 8001) });
