// Shared by the AASIST tests: the SDK's audio test helpers (Python/torch runs, export.py into temp dirs,
// ffmpeg decoding with the SDK's arguments, test-audio synthesis) bound to this service.
import { join } from "node:path";
import { audioTesting } from "@deepsafe/sdk/testing";

export const { ffmpegDecode, ffmpegUnavailable, runPython, synthesize, torchUnavailable, weightsMirror } = audioTesting;
export const { serviceDir, exportScript, referenceScript, tempDir, exportModel } = audioTesting.forService(new URL("..", import.meta.url), "aasist");
export const aasistWeightsDir = join(weightsMirror, "aasist");
