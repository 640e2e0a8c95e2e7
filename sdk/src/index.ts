// @deepsafe/sdk: a detector author writes load() and predict(); the SDK does the rest.
export {
  DetectorModel,
  makeResult,
  abstain,
  type MediaKind,
  type ModelCard,
  type ModelResult,
  type Provenance,
  type LoadContext,
  type PredictContext,
  type Segment,
  type TensorDescription,
} from "./model.js";
export { ImageModel, AudioModel, VideoModel, DEFAULT_MAX_PIXELS } from "./media.js";
export { serveDetector, DETECTOR_SERVICE, LIVENESS_SERVICE, type ServeOptions, type DetectorHandle } from "./server.js";
export { decodeImage, type DecodedImage, type DecodeImageOptions } from "./decode/image.js";
export { decodeAudio, type DecodedAudio, type DecodeAudioOptions } from "./decode/audio.js";
export {
  decodeVideo,
  DEFAULT_VIDEO_FRAMES,
  type DecodedVideo,
  type DecodeVideoOptions,
  type VideoFrame,
} from "./decode/video.js";
export {
  planWindows,
  extractWindow,
  probabilityFakeFromLogits,
  logOdds,
  aggregateProbabilities,
  unscorableReason,
  scoreClip,
  TooManyWindowsError,
  AUDIO_SAMPLE_RATE,
  DEFAULT_WINDOW_SAMPLES,
  DEFAULT_HOP_SAMPLES,
  DEFAULT_MAX_WINDOWS,
  DEFAULT_MIN_SECONDS,
  DEFAULT_SILENCE_PEAK,
  type TooManyWindows,
  type WindowOptions,
  type WindowPlan,
  type UnscorableOptions,
  type WindowScore,
  type ClipScore,
  type WindowInference,
} from "./audio/windows.js";
export {
  WindowedAudioModel,
  WaveformWindowModel,
  AUDIO_MIME_TYPES,
  windowedResult,
  waveformWindowCard,
  positiveIntFromEnv,
  type WindowedClip,
  type WindowNotes,
  type WindowedAudioOptions,
  type WaveformWindowOptions,
  type ClipRequest,
} from "./audio/model.js";
export {
  readConvertedModel,
  readWaveformModelDir,
  createWaveformSession,
  openOnnxSession,
  servedProvenance,
  type ConvertedModelSpec,
  type ConvertedModel,
  type WaveformProvenance,
  type WaveformModelDirSpec,
  type WaveformSession,
} from "./audio/onnx.js";
export { prepareModels, pythonBinary, type PrepareSpec } from "./audio/prepare.js";
/** Test helpers of the audio services (Python/torch runs, ffmpeg decoding and synthesis, fixtures). */
export { sniffMedia, SNIFF_BYTES, type Sniffed, type SniffedMedia } from "./decode/sniff.js";
export { runFfmpeg, type FfmpegRun } from "./decode/ffmpeg.js";
export { readProvenance, sha256File } from "./provenance.js";
export { modelDir, weightsPath, repoRoot } from "./paths.js";
export {
  DetectorError,
  InvalidMediaError,
  ResourceExhaustedError,
  UnavailableError,
  DeadlineExceededError,
  CancelledError,
} from "./errors.js";
export { InferenceLimiter, type LimiterOptions } from "./limiter.js";
export { DynamicBatcher, batchingFromEnv, type BatchingOptions, type BatchObservation, type BatchRunner } from "./batching.js";
export { log } from "./log.js";
export { createDetectorClient, predictBytes, DEFAULT_CHUNK_BYTES, type PredictCall } from "./client.js";
export { fetchWeights, readWeightsList, verifyWeights, weightsCache, ChecksumError, type WeightsFile, type FetchOptions } from "./weights.js";
export * from "./faces/index.js";
export { ImageLogitSession, sigmoid, type ImageGraph } from "./image-session.js";
export { ImageLogitModel } from "./image-logit-model.js";
