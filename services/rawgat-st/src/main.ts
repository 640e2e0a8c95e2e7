// RawGAT-ST detector service. RAWGAT_VARIANT=mul (default, model "rawgat-st"), add ("rawgat-st-add")
// or cat ("rawgat-st-cat"); PORT (default 8003); RAWGAT_MAX_WINDOWS caps the ~4 s windows scored per
// clip (default 32, longer clips are subsampled evenly).
import { serveDetector } from "@deepsafe/sdk";
import { RawGatStModel } from "./model.js";
import { parseVariant } from "./onnx.js";

function optionalInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

const model = new RawGatStModel(parseVariant(process.env.RAWGAT_VARIANT), {
  maxWindows: optionalInt("RAWGAT_MAX_WINDOWS"),
});
await serveDetector(model, { port: Number(process.env.PORT ?? 8003) });
