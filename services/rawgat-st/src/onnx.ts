// RawGAT-ST: the official checkpoints, the variant names, and the converted model (python/export.py) on
// onnxruntime-node through the SDK's raw-waveform window helpers.
import {
  createWaveformSession,
  readWaveformModelDir,
  type WaveformProvenance,
  type WaveformSession,
} from "@deepsafe/sdk";

/**
 * Input length of the published RawGAT-ST models (upstream model_config nb_samp): ~4.04 s at 16 kHz, the only
 * length the exported graph takes; whole clips are scored in windows of it (scoreClip, @deepsafe/sdk).
 */
export const WINDOW_SAMPLES = 64_600;

/** How the spectral and temporal graphs are fused: product (upstream model.py, default), sum or concatenation. */
export type RawGatVariant = "mul" | "add" | "cat";

export const UPSTREAM_REPO = "eurecom-asp/RawGAT-ST-antispoofing";
export const UPSTREAM_COMMIT = "e3b049f79b3cd9552e66f6d0ba844cbb9399c479";

export const VARIANTS: Record<
  RawGatVariant,
  { modelName: string; checkpointPath: string; checkpointSha256: string; bytes: number }
> = {
  mul: {
    modelName: "rawgat-st",
    checkpointPath: "rawgat_st/RawGAT_ST_mul/Best_epoch.pth",
    checkpointSha256: "8a91ce8201d42119cbfb9ebca8850e5914f1a85959b3ca962819783738c2a9e2",
    bytes: 1858500,
  },
  add: {
    modelName: "rawgat-st-add",
    checkpointPath: "rawgat_st/RawGAT_ST_add/Best_epoch.pth",
    checkpointSha256: "0b59dd135194db79815cc1f05203f83f59a38d9ad7ce64a20f1c69d4d285fcc9",
    bytes: 1858500,
  },
  cat: {
    modelName: "rawgat-st-cat",
    checkpointPath: "rawgat_st/RawGAT_ST_cat/Best_epoch.pth",
    checkpointSha256: "4ee991100731fab870f6c33509e753029a69cc626d4c98ceb395011d78c31d67",
    bytes: 1877572,
  },
};

/** Public URL of a variant's official checkpoint (pinned commit). */
export function checkpointUrl(variant: RawGatVariant): string {
  const inRepo = VARIANTS[variant].checkpointPath.replace(/^rawgat_st\//, "Pre_trained_models/");
  return `https://github.com/${UPSTREAM_REPO}/raw/${UPSTREAM_COMMIT}/${inRepo}`;
}

/** "mul", "MUL", "rawgat-st-add", "RawGAT_ST_cat", "concat", … → variant; undefined or "" → mul. */
export function parseVariant(value: string | undefined): RawGatVariant {
  const v = (value ?? "").trim().toLowerCase().replace(/_/g, "-").replace(/^rawgat-st-?/, "");
  if (v === "" || v === "mul") return "mul";
  if (v === "add") return "add";
  if (v === "cat" || v === "concat") return "cat";
  throw new Error(`unknown RawGAT-ST variant "${value}": use mul, add or cat`);
}

/**
 * Read and check a converted model directory: provenance.json must exist and describe this variant,
 * model.onnx must match its recorded sha256, and official weights must come from the pinned checkpoint.
 */
export function readModelDir(dir: string, variant: RawGatVariant): Promise<{ onnxPath: string; provenance: WaveformProvenance<RawGatVariant> }> {
  const { checkpointSha256 } = VARIANTS[variant];
  return readWaveformModelDir(dir, {
    packageName: "@deepsafe/rawgat-st",
    checkpointSha256,
    variant,
    variantLabel: (v) => `RawGAT-ST-${v}`,
    windowSamples: WINDOW_SAMPLES,
  });
}

/** [spoof, bona fide] logits of one 64,600-sample window. */
export function createRawGatSession(onnxPath: string, intraOpThreads = 1): Promise<WaveformSession> {
  return createWaveformSession(onnxPath, intraOpThreads, { name: "RawGAT-ST", windowSamples: WINDOW_SAMPLES });
}
