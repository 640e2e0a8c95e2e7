// Shared by the RawGAT-ST tests: the SDK's audio test helpers (Python/torch runs, export.py into temp
// dirs, ffmpeg decoding with the SDK's arguments, test-audio synthesis) bound to this service.
import { join } from "node:path";
import { audioTesting } from "@deepsafe/sdk/testing";

export const { ffmpegDecode, ffmpegUnavailable, runPython, synthesize, torchUnavailable, weightsMirror } = audioTesting;
export const { serviceDir, exportScript, referenceScript, tempDir, exportModel } = audioTesting.forService(new URL("..", import.meta.url), "rawgat-st");
/** Where the official checkpoints are: <mirror>/rawgat_st/RawGAT_ST_<variant>/Best_epoch.pth. */
export const rawgatWeightsDir = join(weightsMirror, "rawgat_st");

/** Speech from ffmpeg's flite TTS filter (a real synthetic voice), rendered to a file. */
export function synthesizeSpeech(out: string, text: string, voice: string, outputArgs: string[]): void {
  const escaped = text.replace(/[\\':,;]/g, "");
  synthesize(out, `flite=text='${escaped}':voice=${voice}`, outputArgs);
}
