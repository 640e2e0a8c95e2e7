// The exported MesoNet graphs (python/export.py) on onnxruntime-node, and the converted-model directory:
// <dir>/<weights>/{model.onnx, provenance.json} for each converted file, and <dir>/{model.onnx,
// provenance.json} for the default one. No SDK dependency, so tests and tools can use it directly.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { FACE_SIZE } from "./align.js";

export type MesoWeights = "Meso4_DF" | "Meso4_F2F" | "MesoInception_DF" | "MesoInception_F2F";
export type MesoArchitecture = "Meso4" | "MesoInception4";

export const DEFAULT_WEIGHTS: MesoWeights = "MesoInception_DF";
export const UPSTREAM_COMMIT = "2144d56a30e48cdcac1976ff13a1c5cdc86376c6";

/** The four published files (DariusAf/MesoNet weights/*.h5), pinned by sha256. */
export const WEIGHTS: Record<MesoWeights, { architecture: MesoArchitecture; sha256: string; bytes: number; trainedOn: string }> = {
  Meso4_DF: {
    architecture: "Meso4",
    sha256: "036ed30d04ffd9c7506f825b97c86aa64915f5818931da96817b169aad790af5",
    bytes: 156128,
    trainedOn: "Deepfake (the authors' face dataset)",
  },
  Meso4_F2F: {
    architecture: "Meso4",
    sha256: "bcfda015d217b9f8d6557693edbdf9f4e79cfd22672541968dd0e2954462b5d7",
    bytes: 156128,
    trainedOn: "Face2Face (FaceForensics)",
  },
  MesoInception_DF: {
    architecture: "MesoInception4",
    sha256: "234586d40058e76ef8b6f27ca4b63c06e31c2a5a69c0d8ba6f30b1468ab7bafa",
    bytes: 197504,
    trainedOn: "Deepfake (the authors' face dataset)",
  },
  MesoInception_F2F: {
    architecture: "MesoInception4",
    sha256: "d4533ac8a3197dc35c47405d23d99e888c1d0135e267e03540c7451feaccff3f",
    bytes: 197504,
    trainedOn: "Face2Face (FaceForensics)",
  },
};

export const WEIGHTS_NAMES = Object.keys(WEIGHTS) as MesoWeights[];

/** MESONET_WEIGHTS value → weights name (case-insensitive; an optional ".h5" is ignored); empty → default. */
export function parseWeights(value: string | undefined): MesoWeights {
  const v = (value ?? "").trim().replace(/\.h5$/i, "");
  if (v === "") return DEFAULT_WEIGHTS;
  const found = WEIGHTS_NAMES.find((n) => n.toLowerCase() === v.toLowerCase());
  if (!found) throw new Error(`unknown MesoNet weights "${value}": use one of ${WEIGHTS_NAMES.join(", ")}`);
  return found;
}

export function publicUrl(weights: MesoWeights): string {
  return `https://github.com/DariusAf/MesoNet/raw/${UPSTREAM_COMMIT}/weights/${weights}.h5`;
}

/** provenance.json as python/export.py writes it. */
export interface MesoProvenance {
  kind: "official" | "project-trained" | "random-fixture";
  source: string;
  checkpointSha256?: string;
  onnxSha256?: string;
  license?: string;
  description?: string;
  weights?: MesoWeights;
  architecture?: MesoArchitecture;
  hiddenActivation?: "leaky" | "linear" | "relu";
  inputSize?: number;
}

async function sha256File(path: string): Promise<string> {
  return createHash("sha256").update(await readFile(path)).digest("hex");
}

/** <dir>/<weights> when that conversion exists, else <dir> itself. */
export function resolveModelDir(dir: string, weights: MesoWeights): string {
  const sub = join(dir, weights);
  return existsSync(join(sub, "provenance.json")) ? sub : dir;
}

/**
 * Find and check the conversion of `weights` under `dir`: provenance.json must describe these weights,
 * official weights must come from the pinned file, and model.onnx must match its recorded sha256.
 */
export async function readModelDir(dir: string, weights: MesoWeights): Promise<{ onnxPath: string; provenance: MesoProvenance }> {
  const root = resolveModelDir(dir, weights);
  const provenancePath = join(root, "provenance.json");
  const onnxPath = join(root, "model.onnx");
  let provenance: MesoProvenance;
  try {
    provenance = JSON.parse(await readFile(provenancePath, "utf8")) as MesoProvenance;
  } catch (err) {
    throw new Error(
      `no usable ${provenancePath} (${(err as Error).message}); convert the weights first: ` +
        "npm run prepare-model -w @deepsafe/mesonet (needs DEEPSAFE_WEIGHTS_MIRROR)",
    );
  }
  if (provenance.weights !== undefined && provenance.weights !== weights) {
    throw new Error(`${root} holds ${provenance.weights}, not ${weights}; run npm run prepare-model -w @deepsafe/mesonet`);
  }
  if (provenance.architecture !== undefined && provenance.architecture !== WEIGHTS[weights].architecture) {
    throw new Error(`${root} holds a ${provenance.architecture} graph; ${weights} is ${WEIGHTS[weights].architecture}`);
  }
  if (provenance.inputSize !== undefined && provenance.inputSize !== FACE_SIZE) {
    throw new Error(`${onnxPath} takes ${provenance.inputSize}px faces; this service needs ${FACE_SIZE}`);
  }
  if (provenance.kind === "official" && provenance.checkpointSha256 !== WEIGHTS[weights].sha256) {
    throw new Error(
      `${provenancePath} says official ${weights} weights but its checkpoint sha256 ${provenance.checkpointSha256} ` +
        `is not the pinned ${WEIGHTS[weights].sha256}`,
    );
  }
  let actual: string;
  try {
    actual = await sha256File(onnxPath);
  } catch (err) {
    throw new Error(`${onnxPath} is missing (${(err as Error).message}); run npm run prepare-model -w @deepsafe/mesonet`);
  }
  if (provenance.onnxSha256 !== undefined && provenance.onnxSha256 !== actual) {
    throw new Error(`${onnxPath} has sha256 ${actual}, but provenance.json records ${provenance.onnxSha256}`);
  }
  return { onnxPath, provenance: { ...provenance, onnxSha256: actual } };
}

export const INPUT_NAME = "face";
export const OUTPUT_NAME = "logit";
export const FACE_FLOATS = 3 * FACE_SIZE * FACE_SIZE;

export class MesoSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(onnxPath: string, intraOpThreads = 1): Promise<MesoSession> {
    const session = await ort.InferenceSession.create(onnxPath, {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, Math.floor(intraOpThreads)),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    if (!session.inputNames.includes(INPUT_NAME) || !session.outputNames.includes(OUTPUT_NAME)) {
      await session.release();
      throw new Error(
        `${onnxPath} is not a MesoNet export: inputs [${session.inputNames.join(", ")}], outputs ` +
          `[${session.outputNames.join(", ")}]; expected ${INPUT_NAME} -> ${OUTPUT_NAME}`,
      );
    }
    return new MesoSession(session);
  }

  /** Logits of P(fake) for `batch` face tensors laid out back to back (NCHW, [0, 1]). */
  async logits(tensor: Float32Array, batch = 1): Promise<Float32Array> {
    if (batch < 1 || tensor.length !== batch * FACE_FLOATS) {
      throw new RangeError(`expected ${batch * FACE_FLOATS} floats for batch ${batch}, got ${tensor.length}`);
    }
    const input = new ort.Tensor("float32", tensor, [batch, 3, FACE_SIZE, FACE_SIZE]);
    const output = await this.session.run({ [INPUT_NAME]: input });
    const logit = output[OUTPUT_NAME];
    if (!logit || logit.type !== "float32" || logit.size !== batch) {
      throw new Error(`unexpected ${OUTPUT_NAME} output: ${logit?.type} [${logit?.dims.join(", ")}]`);
    }
    return logit.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Numerically stable logistic function. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** log(p / (1 − p)), finite for p in (0, 1), ±Infinity at the ends. */
export function logOdds(p: number): number {
  return Math.log(p) - Math.log1p(-p);
}
