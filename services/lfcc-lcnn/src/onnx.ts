// onnxruntime-node sessions for an exported LFCC-LCNN (python/export.py: frontend.onnx + model.onnx)
// and its provenance.json (checked by the SDK's readConvertedModel).
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { openOnnxSession, readConvertedModel, type Provenance } from "@deepsafe/sdk";
import type { StaticInference } from "./lfcc.js";
import { FEATURE_DIM, FRAME_SHIFT, STATIC_DIM, WINDOW_FRAMES, type Variant } from "./plan.js";

export const UPSTREAM_REPO = "nii-yamagishilab/project-NN-Pytorch-scripts";
export const UPSTREAM_COMMIT = "ac488e4711274aa2138253bd20ebec36d27e1052";

export const VARIANTS: Record<Variant, { modelName: string; folder: string; checkpointSha256: string; outputs: number }> = {
  sigmoid: {
    modelName: "lfcc-lcnn",
    folder: "lfcc-lcnn-sigmoid",
    checkpointSha256: "703a4f84a4cce6b55d366ec13cb3fdec705062028e4538b9abe71678e9481b77",
    outputs: 1,
  },
  "a-softmax": {
    modelName: "lfcc-lcnn-a-softmax",
    folder: "lfcc-lcnn-a-softmax",
    checkpointSha256: "46f06c0d3c19191a65764c2857ef34e44445c192db62ef2b597c6a10f8c8c066",
    outputs: 2,
  },
};

/** The official checkpoint of a variant: its path inside a weights mirror and its public URL (pinned commit). */
export function officialCheckpoint(variant: Variant): { path: string; url: string } {
  const { folder } = VARIANTS[variant];
  return {
    path: `nii_lfcc_lcnn/${folder}/trained_network.pt`,
    url: `https://github.com/${UPSTREAM_REPO}/raw/${UPSTREAM_COMMIT}/project/02-asvspoof/${folder}/__pretrained/trained_network.pt`,
  };
}

/** Where the official checkpoint of a variant sits in a weights mirror. */
export function checkpointPath(mirror: string, variant: Variant): string {
  return join(mirror, officialCheckpoint(variant).path);
}

/** "sigmoid", "lfcc-lcnn", "a-softmax", "asoftmax", "lfcc-lcnn-a-softmax", …; undefined or "" → sigmoid. */
export function parseVariant(value: string | undefined): Variant {
  const v = (value ?? "").trim().toLowerCase().replace(/_/g, "-").replace(/^lfcc-lcnn-?/, "");
  if (v === "" || v === "sigmoid") return "sigmoid";
  if (v === "a-softmax" || v === "asoftmax") return "a-softmax";
  throw new Error(`unknown LFCC-LCNN variant "${value}": use sigmoid or a-softmax`);
}

/** Contents of provenance.json written by python/export.py. */
export interface LfccLcnnProvenance extends Provenance {
  frontendSha256?: string;
  variant?: Variant;
  windowFrames?: number;
  featureDim?: number;
  staticDim?: number;
}

/**
 * Read and check a converted model directory: provenance.json must exist and describe this variant
 * and input layout, model.onnx and frontend.onnx must match their recorded sha256, and official
 * weights must come from the pinned checkpoint.
 */
export async function readModelDir(
  dir: string,
  variant: Variant,
): Promise<{ onnxPath: string; frontendPath: string; provenance: LfccLcnnProvenance }> {
  const { provenance, graphPaths } = await readConvertedModel<LfccLcnnProvenance>(dir, {
    packageName: "@deepsafe/lfcc-lcnn",
    checkpointSha256: VARIANTS[variant].checkpointSha256,
    graphs: { "model.onnx": "onnxSha256", "frontend.onnx": "frontendSha256" },
    check(p, { provenancePath }) {
      if (p.variant !== undefined && p.variant !== variant) throw new Error(`${dir} holds the ${p.variant} variant, not ${variant}`);
      for (const [key, expected] of [["windowFrames", WINDOW_FRAMES], ["featureDim", FEATURE_DIM], ["staticDim", STATIC_DIM]] as const) {
        const value = p[key];
        if (value !== undefined && value !== expected) throw new Error(`${provenancePath}: ${key} is ${value}; this service needs ${expected}`);
      }
    },
  });
  return { onnxPath: graphPaths["model.onnx"]!, frontendPath: graphPaths["frontend.onnx"]!, provenance };
}

export interface LfccLcnnSession {
  /** frontend.onnx: static LFCC of consecutive frames. */
  staticLfcc: StaticInference;
  /** model.onnx on one 750 × 60 window: [logit] (sigmoid) or [cos spoof, cos bona fide] (a-softmax). */
  classify(features: Float32Array): Promise<number[]>;
  release(): Promise<void>;
}

export async function createLfccLcnnSession(
  paths: { onnxPath: string; frontendPath: string },
  variant: Variant,
  intraOpThreads = 1,
): Promise<LfccLcnnSession> {
  const frontend = await openOnnxSession(paths.frontendPath, intraOpThreads);
  let network: ort.InferenceSession;
  try {
    network = await openOnnxSession(paths.onnxPath, intraOpThreads);
  } catch (err) {
    await frontend.release();
    throw err;
  }
  if (
    !frontend.inputNames.includes("segment") || !frontend.outputNames.includes("static") ||
    !network.inputNames.includes("features") || !network.outputNames.includes("logits")
  ) {
    await Promise.all([frontend.release(), network.release()]);
    throw new Error(`${paths.frontendPath} / ${paths.onnxPath} are not an LFCC-LCNN export`);
  }
  const outputs = VARIANTS[variant].outputs;
  return {
    async staticLfcc(segment: Float32Array, frames: number): Promise<Float32Array> {
      if (segment.length !== FRAME_SHIFT * (frames + 1)) {
        throw new RangeError(`a segment of ${frames} frames has ${FRAME_SHIFT * (frames + 1)} samples, got ${segment.length}`);
      }
      const out = await frontend.run({ segment: new ort.Tensor("float32", segment, [1, segment.length]) });
      const data = out.static?.data as Float32Array | undefined;
      if (!data || data.length !== frames * STATIC_DIM) throw new Error(`front end returned no [1, ${frames}, ${STATIC_DIM}] tensor`);
      return data;
    },
    async classify(features: Float32Array): Promise<number[]> {
      if (features.length !== WINDOW_FRAMES * FEATURE_DIM) {
        throw new RangeError(`a window has ${WINDOW_FRAMES * FEATURE_DIM} values, got ${features.length}`);
      }
      const out = await network.run({ features: new ort.Tensor("float32", features, [1, WINDOW_FRAMES, FEATURE_DIM]) });
      const logits = out.logits?.data as Float32Array | undefined;
      if (!logits || logits.length !== outputs) throw new Error(`LFCC-LCNN (${variant}) returned no [1, ${outputs}] output`);
      return Array.from(logits);
    },
    async release() {
      await Promise.all([frontend.release(), network.release()]);
    },
  };
}
