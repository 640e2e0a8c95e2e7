// Streaming a file (or bytes) to DeepSafeService/Detect: one header message, then the content in
// chunks as it is read from disk, so a large video never sits in memory whole.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { EnsembleMethod, type DetectHeaderSchema, type DetectRequestSchema, type DetectResponse } from "@deepsafe/proto/es/gateway";
import type { DeepSafeClient } from "./client.js";

export const DEFAULT_CHUNK_BYTES = 64 * 1024;

export const ENSEMBLE_METHODS = { voting: EnsembleMethod.VOTING, average: EnsembleMethod.AVERAGE, stacking: EnsembleMethod.STACKING } as const;
export type EnsembleName = keyof typeof ENSEMBLE_METHODS;

export interface DetectOptions {
  /** Detector names; empty or absent: the media type's defaults. */
  models?: string[];
  ensemble?: EnsembleName;
  /** Threshold on the ensemble score (default: the gateway's, usually 0.5). */
  threshold?: number;
  /** Count detectors that run random test weights (tests only; off by default). */
  includeRandomWeights?: boolean;
  fileName?: string;
  mimeType?: string;
  chunkBytes?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

type Request = MessageInitShape<typeof DetectRequestSchema>;

function header(size: number, options: DetectOptions): MessageInitShape<typeof DetectHeaderSchema> {
  return {
    fileName: options.fileName ?? "",
    mimeType: options.mimeType ?? "",
    declaredSize: BigInt(size),
    models: options.models ?? [],
    ensembleMethod: options.ensemble ? ENSEMBLE_METHODS[options.ensemble] : EnsembleMethod.UNSPECIFIED,
    threshold: options.threshold,
    includeRandomWeights: options.includeRandomWeights ?? false,
  };
}

async function* fileMessages(path: string, size: number, options: DetectOptions): AsyncIterable<Request> {
  yield { payload: { case: "header", value: header(size, { fileName: basename(path), ...options }) } };
  for await (const chunk of createReadStream(path, { highWaterMark: options.chunkBytes ?? DEFAULT_CHUNK_BYTES, signal: options.signal })) {
    yield { payload: { case: "chunk", value: chunk as Buffer } };
  }
}

async function* byteMessages(bytes: Uint8Array, options: DetectOptions): AsyncIterable<Request> {
  yield { payload: { case: "header", value: header(bytes.length, options) } };
  const step = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  for (let offset = 0; offset < bytes.length; offset += step) yield { payload: { case: "chunk", value: bytes.subarray(offset, offset + step) } };
}

/** Stream a file from disk to Detect; resolves with the fused verdict and every model's result. */
export async function detectFile(client: DeepSafeClient, path: string, options: DetectOptions = {}): Promise<DetectResponse> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  return client.detect(fileMessages(path, info.size, options), { signal: options.signal, timeoutMs: options.timeoutMs });
}

/** The same for bytes already in memory. */
export function detectBytes(client: DeepSafeClient, bytes: Uint8Array, options: DetectOptions = {}): Promise<DetectResponse> {
  return client.detect(byteMessages(bytes, options), { signal: options.signal, timeoutMs: options.timeoutMs });
}
