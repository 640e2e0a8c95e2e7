// Service settings from the environment, shared by the image and the video entry points.
import type { MesoOptions } from "./scorer.js";

function optionalNumber(name: string, check: (v: number) => boolean, what: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || !check(value)) throw new Error(`${name} must be ${what}, got "${raw}"`);
  return value;
}

/** MESONET_MIN_FACE_PX, MESONET_MAX_FACES, MESONET_FACE_SCORE, MESONET_CROP_SCALE, MESONET_FACE_DETECTOR_DIR. */
export function optionsFromEnv(): MesoOptions {
  return {
    minCropSide: optionalNumber("MESONET_MIN_FACE_PX", (v) => v >= 1, "a positive number of pixels"),
    maxFaces: optionalNumber("MESONET_MAX_FACES", (v) => Number.isSafeInteger(v) && v >= 1, "a positive integer"),
    faceScoreThreshold: optionalNumber("MESONET_FACE_SCORE", (v) => v > 0 && v < 1, "between 0 and 1"),
    cropScale: optionalNumber("MESONET_CROP_SCALE", (v) => v >= 0.5 && v <= 2, "between 0.5 and 2"),
    faceDetectorDir: process.env.MESONET_FACE_DETECTOR_DIR || undefined,
  };
}
