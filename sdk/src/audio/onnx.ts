// Converted audio models on onnxruntime-node: checking a model directory written by a service's
// python/export.py (provenance.json next to its ONNX graphs) and opening sessions on it.
// readConvertedModel does the checks every audio service makes (a missing conversion says how to make
// one, official weights must come from the pinned checkpoint, each graph must match the sha256 its
// provenance records); the service adds its own (variant, input layout) through `check`.
// readWaveformModelDir / createWaveformSession cover the fixed-length raw-waveform window models
// (AASIST, AASIST-L, RawGAT-ST): one graph, input "waveform" [1, W] → output "logits" [1, 2] =
// [spoof, bona fide].
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Provenance } from "../model.js";
import { sha256File } from "../provenance.js";
import { DEFAULT_WINDOW_SAMPLES, type WindowInference } from "./windows.js";

export interface ConvertedModelSpec<P extends Provenance> {
  /** npm package whose prepare-model script converts the weights (named in the error for a missing conversion). */
  packageName: string;
  /** sha256 of the official checkpoint: a provenance claiming official weights must record exactly this. */
  checkpointSha256: string;
  /** Graph files and the provenance field holding each one's sha256 (default: model.onnx → onnxSha256). */
  graphs?: Readonly<Record<string, string>>;
  /** The service's checks of the parsed provenance (variant, input layout), before any file is hashed; throw to refuse. */
  check?: (provenance: P, paths: { dir: string; provenancePath: string }) => void;
}

export interface ConvertedModel<P extends Provenance> {
  /** provenance.json with the graphs' sha256 fields set to what the files on disk hash to. */
  provenance: P;
  /** Path of each graph file of the spec, by file name. */
  graphPaths: Record<string, string>;
}

/**
 * Read and check a converted model directory: provenance.json must exist and pass the service's
 * `check`, official weights must come from the pinned checkpoint, and every graph must match the
 * sha256 recorded for it.
 */
export async function readConvertedModel<P extends Provenance>(
  dir: string,
  spec: ConvertedModelSpec<P>,
): Promise<ConvertedModel<P>> {
  const provenancePath = join(dir, "provenance.json");
  let provenance: P;
  try {
    provenance = JSON.parse(await readFile(provenancePath, "utf8")) as P;
  } catch (err) {
    throw new Error(
      `no usable ${provenancePath} (${(err as Error).message}); convert the weights first: ` +
        `npm run prepare-model -w ${spec.packageName} (needs DEEPSAFE_WEIGHTS_MIRROR)`,
    );
  }
  spec.check?.(provenance, { dir, provenancePath });
  if (provenance.kind === "official" && provenance.checkpointSha256 !== spec.checkpointSha256) {
    throw new Error(
      `${provenancePath} says official weights but its checkpoint sha256 ${provenance.checkpointSha256} is not the pinned ` +
        spec.checkpointSha256,
    );
  }
  const graphPaths: Record<string, string> = {};
  const hashes: Record<string, string> = {};
  for (const [file, field] of Object.entries(spec.graphs ?? { "model.onnx": "onnxSha256" })) {
    const path = join(dir, file);
    const actual = await sha256File(path);
    const recorded = (provenance as unknown as Record<string, unknown>)[field];
    if (recorded !== undefined && recorded !== actual) {
      throw new Error(`${path} has sha256 ${actual}, but provenance.json records ${String(recorded)}`);
    }
    graphPaths[file] = path;
    hashes[field] = actual;
  }
  return { provenance: { ...provenance, ...hashes }, graphPaths };
}

/** The fields of a converted model's provenance that the SDK serves (drops the service's own). */
export function servedProvenance(provenance: Provenance): Provenance {
  return {
    kind: provenance.kind,
    source: provenance.source,
    checkpointSha256: provenance.checkpointSha256,
    onnxSha256: provenance.onnxSha256,
    license: provenance.license,
    description: provenance.description,
  };
}

/** An onnxruntime-node session as the audio services run them: intraOpThreads (at least 1), one inter-op thread, all graph optimisations. */
export function openOnnxSession(path: string, intraOpThreads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: Math.max(1, intraOpThreads),
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
}

/** provenance.json of a raw-waveform window model (python/export.py of AASIST, RawGAT-ST). */
export interface WaveformProvenance<V extends string = string> extends Provenance {
  variant?: V;
  /** Input length the graph was exported at. */
  inputSamples?: number;
}

export interface WaveformModelDirSpec<V extends string = string> {
  packageName: string;
  checkpointSha256: string;
  /** The variant this service serves; a conversion of another variant is refused. */
  variant: V;
  /** How a variant is named in errors (default: as is). */
  variantLabel?: (variant: string) => string;
  /** Input length the service feeds (default 64,600). */
  windowSamples?: number;
}

/**
 * readConvertedModel for a raw-waveform window model: model.onnx must be a conversion of this variant
 * at this input length.
 */
export async function readWaveformModelDir<V extends string>(
  dir: string,
  spec: WaveformModelDirSpec<V>,
): Promise<{ onnxPath: string; provenance: WaveformProvenance<V> }> {
  const label = spec.variantLabel ?? ((v: string) => v);
  const windowSamples = spec.windowSamples ?? DEFAULT_WINDOW_SAMPLES;
  const onnxPath = join(dir, "model.onnx");
  const { provenance } = await readConvertedModel<WaveformProvenance<V>>(dir, {
    packageName: spec.packageName,
    checkpointSha256: spec.checkpointSha256,
    check(p) {
      if (p.variant !== undefined && p.variant !== spec.variant) {
        throw new Error(`${dir} holds ${label(p.variant)}, not ${label(spec.variant)}`);
      }
      if (p.inputSamples !== undefined && p.inputSamples !== windowSamples) {
        throw new Error(`${onnxPath} takes ${p.inputSamples} samples; this service needs ${windowSamples}`);
      }
    },
  });
  return { onnxPath, provenance };
}

export interface WaveformSession {
  /** [spoof, bona fide] logits of one window. */
  infer: WindowInference;
  release(): Promise<void>;
}

/** A session on an exported raw-waveform window graph: "waveform" float32 [1, windowSamples] → "logits" [1, 2]. */
export async function createWaveformSession(
  onnxPath: string,
  intraOpThreads: number,
  spec: { /** Names the model in errors, e.g. "AASIST". */ name: string; windowSamples?: number },
): Promise<WaveformSession> {
  const size = spec.windowSamples ?? DEFAULT_WINDOW_SAMPLES;
  const session = await openOnnxSession(onnxPath, intraOpThreads);
  if (!session.inputNames.includes("waveform") || !session.outputNames.includes("logits")) {
    await session.release();
    throw new Error(`${onnxPath} is not an exported ${spec.name} graph (inputs ${session.inputNames}, outputs ${session.outputNames})`);
  }
  return {
    async infer(window: Float32Array): Promise<[number, number]> {
      if (window.length !== size) throw new RangeError(`window must have ${size} samples, got ${window.length}`);
      const out = await session.run({ waveform: new ort.Tensor("float32", window, [1, size]) });
      const logits = out.logits?.data as Float32Array | undefined;
      if (!logits || logits.length !== 2) throw new Error(`${spec.name} returned no [1, 2] logits`);
      return [logits[0]!, logits[1]!];
    },
    release: () => session.release(),
  };
}
