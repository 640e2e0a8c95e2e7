// AASIST / AASIST-L: the official checkpoints, the variant names, and the converted model (python/export.py)
// on onnxruntime-node through the SDK's raw-waveform window helpers.
import {
  createWaveformSession,
  readWaveformModelDir,
  type WaveformProvenance,
  type WaveformSession,
} from "@deepsafe/sdk";

/**
 * Input length of the published AASIST / AASIST-L models (upstream nb_samp): ~4.04 s at 16 kHz, the only
 * length the exported graph takes; whole clips are scored in windows of it (scoreClip, @deepsafe/sdk).
 */
export const WINDOW_SAMPLES = 64_600;

export const UPSTREAM_REPO = "clovaai/aasist";
export const UPSTREAM_COMMIT = "a04c9863f63d44471dde8a6abcb3b082b07cd1d1";

export type AasistVariant = "AASIST" | "AASIST-L";

export const VARIANTS: Record<AasistVariant, { modelName: string; checkpointSha256: string; checkpointFile: string }> = {
  AASIST: {
    modelName: "aasist",
    checkpointFile: "AASIST.pth",
    checkpointSha256: "51d2d9cf0738172f61e2a384ec50a54a55363240f67c971ed55a92435bc1a1c0",
  },
  "AASIST-L": {
    modelName: "aasist-l",
    checkpointFile: "AASIST-L.pth",
    checkpointSha256: "814331d088032bb4c3fa61cc014789eadeed464209dd094ab3a2dd6ffbdce27a",
  },
};

/** Public URL of a variant's official checkpoint (pinned commit). */
export function checkpointUrl(variant: AasistVariant): string {
  return `https://github.com/${UPSTREAM_REPO}/raw/${UPSTREAM_COMMIT}/models/weights/${VARIANTS[variant].checkpointFile}`;
}

/** "aasist", "AASIST", "aasist-l", "AASIST_L", … → variant; undefined or "" → AASIST. */
export function parseVariant(value: string | undefined): AasistVariant {
  const v = (value ?? "").trim().toUpperCase().replace("_", "-");
  if (v === "" || v === "AASIST") return "AASIST";
  if (v === "AASIST-L") return "AASIST-L";
  throw new Error(`unknown AASIST variant "${value}": use AASIST or AASIST-L`);
}

/**
 * Read and check a converted model directory: provenance.json must exist and describe this variant,
 * model.onnx must match its recorded sha256, and official weights must come from the pinned checkpoint.
 */
export function readModelDir(dir: string, variant: AasistVariant): Promise<{ onnxPath: string; provenance: WaveformProvenance<AasistVariant> }> {
  const { checkpointSha256 } = VARIANTS[variant];
  return readWaveformModelDir(dir, { packageName: "@deepsafe/aasist", checkpointSha256, variant, windowSamples: WINDOW_SAMPLES });
}

/** [spoof, bona fide] logits of one 64,600-sample window. */
export function createAasistSession(onnxPath: string, intraOpThreads = 1): Promise<WaveformSession> {
  return createWaveformSession(onnxPath, intraOpThreads, { name: "AASIST", windowSamples: WINDOW_SAMPLES });
}
