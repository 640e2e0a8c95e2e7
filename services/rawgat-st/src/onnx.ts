// onnxruntime-node session for an exported RawGAT-ST graph (python/export.py) and its provenance.json.
// No runtime SDK dependency (types only), so tests can use it directly.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { WindowInference } from "@deepsafe/sdk";

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

/** Contents of provenance.json written by python/export.py. */
export interface RawGatProvenance {
  kind: "official" | "project-trained" | "random-fixture";
  source: string;
  checkpointSha256?: string;
  onnxSha256?: string;
  license?: string;
  description?: string;
  variant?: RawGatVariant;
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
  variant: RawGatVariant,
): Promise<{ onnxPath: string; provenance: RawGatProvenance }> {
  const provenancePath = join(dir, "provenance.json");
  const onnxPath = join(dir, "model.onnx");
  let provenance: RawGatProvenance;
  try {
    provenance = JSON.parse(await readFile(provenancePath, "utf8")) as RawGatProvenance;
  } catch (err) {
    throw new Error(
      `no usable ${provenancePath} (${(err as Error).message}); convert the weights first: ` +
        "npm run prepare-model -w @deepsafe/rawgat-st (needs DEEPSAFE_WEIGHTS_MIRROR)",
    );
  }
  if (provenance.variant !== undefined && provenance.variant !== variant) {
    throw new Error(`${dir} holds RawGAT-ST-${provenance.variant}, not RawGAT-ST-${variant}`);
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

export interface RawGatSession {
  /** [spoof, bona fide] logits of one 64,600-sample window. */
  infer: WindowInference;
  release(): Promise<void>;
}

export async function createRawGatSession(onnxPath: string, intraOpThreads = 1): Promise<RawGatSession> {
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: Math.max(1, intraOpThreads),
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
  if (!session.inputNames.includes("waveform") || !session.outputNames.includes("logits")) {
    await session.release();
    throw new Error(`${onnxPath} is not a RawGAT-ST export (inputs ${session.inputNames}, outputs ${session.outputNames})`);
  }
  return {
    async infer(window: Float32Array): Promise<[number, number]> {
      if (window.length !== WINDOW_SAMPLES) throw new RangeError(`window must have ${WINDOW_SAMPLES} samples, got ${window.length}`);
      const out = await session.run({ waveform: new ort.Tensor("float32", window, [1, WINDOW_SAMPLES]) });
      const logits = out.logits?.data as Float32Array | undefined;
      if (!logits || logits.length !== 2) throw new Error("RawGAT-ST returned no [1, 2] logits");
      return [logits[0]!, logits[1]!];
    },
    release: () => session.release(),
  };
}
