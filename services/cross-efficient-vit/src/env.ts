// Service settings from the environment (see MODEL_CARD.md).
import type { CevOptions } from "./model.js";

function optionalNumber(name: string, check: (v: number) => boolean, what: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || !check(value)) throw new Error(`${name} must be ${what}, got "${raw}"`);
  return value;
}

const positiveInteger = (v: number) => Number.isSafeInteger(v) && v >= 1;

/**
 * CROSS_EFFICIENT_VIT_FRAMES (default 30, at most 100: decoded frames are held in memory), CROSS_EFFICIENT_VIT_FACE_SCORE (YuNet threshold, default 0.6),
 * CROSS_EFFICIENT_VIT_MIN_FACE_PX (default 40), CROSS_EFFICIENT_VIT_BATCH (faces per ONNX call, default 8),
 * CROSS_EFFICIENT_VIT_MAX_SIDE (frame longer side, default 1920), CROSS_EFFICIENT_VIT_FACE_DETECTOR_DIR.
 */
export function optionsFromEnv(): CevOptions {
  return {
    frames: optionalNumber("CROSS_EFFICIENT_VIT_FRAMES", (v) => positiveInteger(v) && v <= 100, "an integer in 1..100"),
    faceScoreThreshold: optionalNumber("CROSS_EFFICIENT_VIT_FACE_SCORE", (v) => v > 0 && v < 1, "between 0 and 1"),
    minFaceSide: optionalNumber("CROSS_EFFICIENT_VIT_MIN_FACE_PX", (v) => v >= 0, "a number of pixels >= 0"),
    batchSize: optionalNumber("CROSS_EFFICIENT_VIT_BATCH", positiveInteger, "a positive integer"),
    maxFrameSide: optionalNumber("CROSS_EFFICIENT_VIT_MAX_SIDE", (v) => v === 0 || (positiveInteger(v) && v >= 64), "0 or an integer >= 64"),
    faceDetectorDir: process.env.CROSS_EFFICIENT_VIT_FACE_DETECTOR_DIR || undefined,
  };
}
