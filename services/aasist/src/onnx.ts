// onnxruntime-node session for an exported AASIST graph (python/export.py) and its provenance.json.
// No runtime SDK dependency (types only), so tests can use it directly.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { WindowInference } from "@deepsafe/sdk";

/**
 * Input length of the published AASIST / AASIST-L models (upstream nb_samp): ~4.04 s at 16 kHz, the only
 * length the exported graph takes; whole clips are scored in windows of it (scoreClip, @deepsafe/sdk).
 */
export const WINDOW_SAMPLES = 64_600;

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

/** "aasist", "AASIST", "aasist-l", "AASIST_L", … → variant; undefined or "" → AASIST. */
export function parseVariant(value: string | undefined): AasistVariant {
  const v = (value ?? "").trim().toUpperCase().replace("_", "-");
  if (v === "" || v === "AASIST") return "AASIST";
  if (v === "AASIST-L") return "AASIST-L";
  throw new Error(`unknown AASIST variant "${value}": use AASIST or AASIST-L`);
}

/** Contents of provenance.json written by python/export.py. */
export interface AasistProvenance {
  kind: "official" | "project-trained" | "random-fixture";
  source: string;
  checkpointSha256?: string;
  onnxSha256?: string;
  license?: string;
  description?: string;
  variant?: AasistVariant;
  inputSamples?: number;
}

export async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/**
 * Read and check a converted model directory: provenance.json must exist and describe this variant,
 * model.onnx must match its recorded sha256, and official weights must come from the pinned checkpoint.
 */
export async function readModelDir(
  dir: string,
  variant: AasistVariant,
): Promise<{ onnxPath: string; provenance: AasistProvenance }> {
  const provenancePath = join(dir, "provenance.json");
  const onnxPath = join(dir, "model.onnx");
  let provenance: AasistProvenance;
  try {
    provenance = JSON.parse(await readFile(provenancePath, "utf8")) as AasistProvenance;
  } catch (err) {
    throw new Error(
      `no usable ${provenancePath} (${(err as Error).message}); convert the weights first: ` +
        "npm run prepare-model -w @deepsafe/aasist (needs DEEPSAFE_WEIGHTS_MIRROR)",
    );
  }
  if (provenance.variant !== undefined && provenance.variant !== variant) {
    throw new Error(`${dir} holds ${provenance.variant}, not ${variant}`);
  }
  if (provenance.inputSamples !== undefined && provenance.inputSamples !== WINDOW_SAMPLES) {
    throw new Error(`${onnxPath} takes ${provenance.inputSamples} samples; this service needs ${WINDOW_SAMPLES}`);
  }
  if (provenance.kind === "official" && provenance.checkpointSha256 !== VARIANTS[variant].checkpointSha256) {
    throw new Error(
      `${provenancePath} says official weights but its checkpoint sha256 ${provenance.checkpointSha256} is not the pinned ` +
        VARIANTS[variant].checkpointSha256,
    );
  }
  const actual = await sha256File(onnxPath);
  if (provenance.onnxSha256 !== undefined && provenance.onnxSha256 !== actual) {
    throw new Error(`${onnxPath} has sha256 ${actual}, but provenance.json records ${provenance.onnxSha256}`);
  }
  return { onnxPath, provenance: { ...provenance, onnxSha256: actual } };
}

export interface AasistSession {
  /** [spoof, bona fide] logits of one 64,600-sample window. */
  infer: WindowInference;
  release(): Promise<void>;
}

export async function createAasistSession(onnxPath: string, intraOpThreads = 1): Promise<AasistSession> {
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: Math.max(1, intraOpThreads),
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  if (!session.inputNames.includes("waveform") || !session.outputNames.includes("logits")) {
    await session.release();
    throw new Error(`${onnxPath} is not an AASIST export (inputs ${session.inputNames}, outputs ${session.outputNames})`);
  }
  return {
    async infer(window: Float32Array): Promise<[number, number]> {
      if (window.length !== WINDOW_SAMPLES) throw new RangeError(`window must have ${WINDOW_SAMPLES} samples, got ${window.length}`);
      const out = await session.run({ waveform: new ort.Tensor("float32", window, [1, WINDOW_SAMPLES]) });
      const logits = out.logits?.data as Float32Array | undefined;
      if (!logits || logits.length !== 2) throw new Error("AASIST returned no [1, 2] logits");
      return [logits[0]!, logits[1]!];
    },
    release: () => session.release(),
  };
}
