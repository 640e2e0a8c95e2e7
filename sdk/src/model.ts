// What a detector author implements: a card describing the model, load() and predict().
// Everything else (serving, health, limits, decoding, metrics, drain) is the SDK's job.
import { MediaType, Prediction, SegmentKind, WeightsKind } from "@deepsafe/proto/grpc/common";
import type { DecodedImage } from "./decode/image.js";
import type { DecodedAudio } from "./decode/audio.js";
import type { BatchingOptions, BatchObservation } from "./batching.js";

export type MediaKind = "image" | "video" | "audio";

export const mediaTypeOf: Record<MediaKind, MediaType> = {
  image: MediaType.MEDIA_TYPE_IMAGE,
  video: MediaType.MEDIA_TYPE_VIDEO,
  audio: MediaType.MEDIA_TYPE_AUDIO,
};

export interface TensorDescription {
  name: string;
  datatype: string;
  /** -1 marks a variable dimension. */
  shape: number[];
}

/** Static description of a model, served by GetModelInfo and written into its model card. */
export interface ModelCard {
  name: string;
  version: string;
  description: string;
  paper: string;
  license: string;
  defaultThreshold: number;
  /** Human-readable preprocessing summary. */
  preprocessing: string;
  tensors: TensorDescription[];
  /** MIME types accepted; the SDK rejects others with INVALID_ARGUMENT. */
  mimeTypes?: string[];
  /** Largest upload in bytes (default 64 MiB), enforced while streaming. */
  maxBytes?: number;
  /** Largest decoded image in pixels (default 40 Mpx), enforced before decoding pixels. */
  maxPixels?: number;
}

/** Where the served weights come from; reported in model info and health. */
export interface Provenance {
  kind: "official" | "project-trained" | "random-fixture";
  source: string;
  checkpointSha256?: string;
  onnxSha256?: string;
  license?: string;
  description?: string;
}

export const weightsKindOf: Record<Provenance["kind"], WeightsKind> = {
  official: WeightsKind.WEIGHTS_KIND_OFFICIAL,
  "project-trained": WeightsKind.WEIGHTS_KIND_PROJECT_TRAINED,
  "random-fixture": WeightsKind.WEIGHTS_KIND_RANDOM_FIXTURE,
};

export interface LoadContext {
  /** Directory holding this model's converted weights (see weightsPath). */
  modelDir: string;
  /** Threads onnxruntime may use for one inference. */
  intraOpThreads: number;
  /** Dynamic batching asked for this model (only honoured by models with `batchable`); undefined = off. */
  batching?: BatchingOptions;
  /** Called after every batched model call (the server records batch size and queue wait). */
  observeBatch?: (observation: BatchObservation) => void;
}

export interface PredictContext {
  requestId: string;
  threshold: number;
  options: Record<string, string>;
  mimeType: string;
  fileName: string;
  /** Aborted when the client cancels or the deadline passes: stop work early where possible. */
  signal: AbortSignal;
}

export interface Segment {
  kind: "region" | "frame" | "window";
  index: number;
  probabilityFake: number;
  startSeconds?: number;
  endSeconds?: number;
  box?: { x: number; y: number; width: number; height: number };
  track?: number;
}

export const segmentKindOf: Record<Segment["kind"], SegmentKind> = {
  region: SegmentKind.SEGMENT_KIND_REGION,
  frame: SegmentKind.SEGMENT_KIND_FRAME,
  window: SegmentKind.SEGMENT_KIND_WINDOW,
};

/** What predict() returns; build it with makeResult() or abstain(). */
export interface ModelResult {
  probabilityFake: number;
  prediction: Prediction;
  threshold: number;
  logit?: number;
  segments: Segment[];
  note: string;
}

/** A scored result: fake when probabilityFake >= threshold. */
export function makeResult(
  probabilityFake: number,
  threshold: number,
  extra: { logit?: number; segments?: Segment[]; note?: string } = {},
): ModelResult {
  if (!Number.isFinite(probabilityFake) || probabilityFake < 0 || probabilityFake > 1) {
    throw new RangeError(`probability must be in [0, 1], got ${probabilityFake}`);
  }
  return {
    probabilityFake,
    prediction: probabilityFake >= threshold ? Prediction.PREDICTION_FAKE : Prediction.PREDICTION_REAL,
    threshold,
    logit: extra.logit,
    segments: extra.segments ?? [],
    note: extra.note ?? "",
  };
}

/** The model declines to score this input (for example: no face found). Never counted as fake. */
export function abstain(reason: string, threshold: number, segments: Segment[] = []): ModelResult {
  return {
    probabilityFake: 0,
    prediction: Prediction.PREDICTION_UNDETERMINED,
    threshold,
    segments,
    note: reason,
  };
}

/** Base of every detector. Subclass ImageModel, VideoModel or AudioModel rather than this. */
export abstract class DetectorModel<TInput> {
  abstract readonly media: MediaKind;
  abstract readonly card: ModelCard;
  /** True when load() honours LoadContext.batching (the server then admits enough calls to fill a batch). */
  readonly batchable: boolean = false;

  /** Load weights (from ctx.modelDir) and return which weights were loaded. */
  abstract load(ctx: LoadContext): Promise<Provenance>;

  /** Score one decoded input. Use makeResult() or abstain(). */
  abstract predict(input: TInput, ctx: PredictContext): Promise<ModelResult>;

  /** Turn the uploaded bytes into the model's input. Provided by the media base classes. */
  abstract decode(bytes: Buffer, ctx: PredictContext): Promise<TInput>;

  /** One inference on synthetic input so the first real request is not the slow one. */
  async warmup(): Promise<void> {}

  /** Release native resources on shutdown. */
  async dispose(): Promise<void> {}
}

export type { DecodedImage, DecodedAudio };
