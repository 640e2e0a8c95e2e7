// Cross-Efficient-ViT video deepfake detector (Coccomini, Messina, Gennaro, Falchi, ICIAP 2022) served through
// the DeepSafe SDK: 30 evenly spaced frames, YuNet faces tracked across frames (up to 3 people), every face
// scored by the EfficientNet-B0 + multi-scale cross-attention ViT graph, per-face sigmoids, and upstream's
// video rule (per-track mean; the first track mean above 0.55, tracks numbered largest face first, else the
// mean of the track means).
// No face: UNDETERMINED with the reason (the original service reported 0.5, i.e. "fake").
import {
  FACE_DETECTOR_MODEL,
  VideoModel,
  abstain,
  loadFaceDetector,
  makeResult,
  modelDir,
  type DecodedVideo,
  type FaceDetector,
  type LoadContext,
  type ModelCard,
  type ModelResult,
  type PredictContext,
  type Provenance,
  type Segment,
} from "@deepsafe/sdk";
import { TRACK_FAKE_THRESHOLD, trackMeans, videoScore } from "./aggregate.js";
import { DEFAULT_MIN_FACE_SIDE, MAX_TRACKS, faceTensors, planFaces, sourceBox } from "./faces.js";
import { type CevSession, FACE_FLOATS, FACE_SIZE, logOdds, openCevSession, readModelDir, sigmoid } from "./onnx.js";

export const MODEL_NAME = "cross-efficient-vit";
export const DEFAULT_FRAMES = 30;
export const DEFAULT_BATCH = 8;
export const UPSTREAM_COMMIT = "2f5305e7c8ecd9489cb1147088984bf34e5eef3a";

export interface CevOptions {
  /** Evenly spaced frames per video (default 30, upstream's frames-per-video). */
  frames?: number;
  /** YuNet score above which a detection is a face (default: the SDK's, 0.6). */
  faceScoreThreshold?: number;
  /** Longer face box side in source pixels below which a face is not scored (default 40). */
  minFaceSide?: number;
  /** Faces per onnxruntime call (default 8). */
  batchSize?: number;
  /** Frames are shrunk to this longer side before detection and cropping (default 1920: 1080p stays native). */
  maxFrameSide?: number;
  /** Directory of the prepared face detector (default modelDir("face-detector")). */
  faceDetectorDir?: string;
}

export const cevCard: ModelCard = {
  name: MODEL_NAME,
  version: `1.0.0+${UPSTREAM_COMMIT.slice(0, 7)}`,
  description:
    "Cross-Efficient-ViT: each face crop goes through two EfficientNet-B0 feature extractors (all blocks: 1280x7x7; " +
    "first 3 blocks: 24x56x56), one token each, a multi-scale ViT with cross attention between the two branches, and " +
    "two CLS heads whose logits are summed. Per-face P(fake); video score by upstream's per-track rule. Abstains when " +
    "no face is found.",
  paper:
    "Coccomini, Messina, Gennaro, Falchi. Combining EfficientNet and Vision Transformers for Video Deepfake Detection. " +
    "ICIAP 2022 (LNCS 13233). arXiv:2107.02612",
  license: "MIT (upstream code and weights, Davide Coccomini); DeepSafe port written from the paper and upstream code",
  // upstream's evaluation calls a video fake when its score is above 0.6 (utils.custom_round)
  defaultThreshold: 0.6,
  preprocessing:
    "ffmpeg: 30 evenly spaced RGB frames (longer side <= 1920); YuNet faces (score > 0.6, longer side >= 40 px); IoU " +
    "tracks, at most 3, numbered by face size (largest first, as upstream's face index); square crop of the box as extract_crops.py (shorter side padded by int((long - short) / 2) on " +
    "both sides, no margin, clipped at the borders); IsotropicResize to 224 (area when shrinking, cubic when " +
    "enlarging); PadIfNeeded 224x224 with zeros, centred; BGR, 0..255, no normalisation; per-face sigmoid; " +
    `per-track mean; video = first track mean > ${TRACK_FAKE_THRESHOLD} (one track: its mean), else mean of track means`,
  tensors: [
    { name: "faces", datatype: "FP32", shape: [-1, 3, FACE_SIZE, FACE_SIZE] },
    { name: "logit", datatype: "FP32", shape: [-1, 1] },
  ],
  mimeTypes: ["video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo", "video/3gpp"],
  maxBytes: 512 * 1024 * 1024,
  maxPixels: 40_000_000,
};

export class CrossEfficientViTModel extends VideoModel {
  readonly card = cevCard;
  private session: CevSession | undefined;
  private detector: FaceDetector | undefined;
  private readonly minFaceSide: number;
  private readonly batchSize: number;

  constructor(private readonly options: CevOptions = {}) {
    super();
    this.framesPerVideo = options.frames ?? DEFAULT_FRAMES;
    this.maxFrameSide = options.maxFrameSide ?? 1920;
    this.minFaceSide = options.minFaceSide ?? DEFAULT_MIN_FACE_SIDE;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH;
    if (!(Number.isInteger(this.framesPerVideo) && this.framesPerVideo >= 1)) throw new RangeError(`frames must be a positive integer, got ${options.frames}`);
    if (!(Number.isInteger(this.batchSize) && this.batchSize >= 1)) throw new RangeError(`batch size must be a positive integer, got ${options.batchSize}`);
    if (!(this.minFaceSide >= 0)) throw new RangeError(`minimum face side must be >= 0, got ${options.minFaceSide}`);
  }

  async load(ctx: LoadContext): Promise<Provenance> {
    const { onnxPath, provenance } = await readModelDir(ctx.modelDir);
    const detectorDir = this.options.faceDetectorDir ?? modelDir(FACE_DETECTOR_MODEL);
    let faces: Awaited<ReturnType<typeof loadFaceDetector>>;
    try {
      const opts = this.options.faceScoreThreshold !== undefined ? { scoreThreshold: this.options.faceScoreThreshold } : {};
      faces = await loadFaceDetector(ctx.intraOpThreads, opts, detectorDir);
    } catch (err) {
      throw new Error(
        `Cross-Efficient-ViT needs the face detector in ${detectorDir}: ${(err as Error).message} ` +
          "(npm run prepare-model -w @deepsafe/cross-efficient-vit prepares it too)",
      );
    }
    let session: CevSession;
    try {
      session = await openCevSession(onnxPath, ctx.intraOpThreads);
    } catch (err) {
      await faces.detector.release();
      throw err;
    }
    await this.dispose();
    this.session = session;
    this.detector = faces.detector;
    const detectorNote = `faces found by ${faces.provenance.kind} YuNet (${faces.provenance.source}, onnx sha256 ${faces.provenance.onnxSha256 ?? "?"})`;
    return { ...provenance, description: `${provenance.description ?? "Cross-Efficient-ViT"}; ${detectorNote}` };
  }

  override async warmup(): Promise<void> {
    const { session, detector } = this.require();
    await session.logits(new Float32Array(FACE_FLOATS));
    await detector.detect({ data: new Uint8Array(64 * 48 * 3).fill(128), width: 64, height: 48 });
  }

  async predict(video: DecodedVideo, ctx: PredictContext): Promise<ModelResult> {
    const { session, detector } = this.require();
    const frames = video.frames;
    const scale = video.width > 0 ? video.sourceWidth / video.width : 1;
    const plan = await planFaces(frames, detector, { minFaceSide: this.minFaceSide, sourceScale: scale }, ctx.signal);
    const sampled = `${frames.length} sampled frame${frames.length === 1 ? "" : "s"}`;
    if (plan.items.length === 0) {
      const why =
        plan.tooSmall > 0
          ? `no face large enough in ${sampled}: ${plan.tooSmall} detection(s), all under ${this.minFaceSide} px`
          : `no face found in ${sampled}`;
      return abstain(`${why}; Cross-Efficient-ViT only scores faces`, ctx.threshold);
    }

    const logits: number[] = [];
    for (let start = 0; start < plan.items.length; start += this.batchSize) {
      ctx.signal.throwIfAborted();
      const chunk = plan.items.slice(start, start + this.batchSize);
      const out = await session.logits(faceTensors(frames, chunk), chunk.length);
      for (const l of out) {
        if (!Number.isFinite(l)) throw new Error(`Cross-Efficient-ViT produced a non-finite logit: ${l}`);
        logits.push(l);
      }
    }
    const probabilities = logits.map(sigmoid);
    const { means, counts } = trackMeans(plan.items, probabilities, plan.tracks.length);
    const { probabilityFake, decidingTrack } = videoScore(means);

    const segments: Segment[] = plan.items.map((it, i) => {
      const frame = frames[it.frame]!;
      const next = frames[it.frame + 1];
      return {
        kind: "frame",
        index: frame.index,
        startSeconds: frame.timeSeconds,
        endSeconds: next ? next.timeSeconds : Math.max(frame.timeSeconds, video.durationSeconds),
        probabilityFake: probabilities[i]!,
        box: sourceBox(it.face, frame, scale),
        track: it.track + 1, // 1-based: 0 means "no track"
      };
    });
    const framesWithFaces = new Set(plan.items.map((it) => it.frame)).size;
    const notes = [
      `${plan.items.length} face${plan.items.length === 1 ? "" : "s"} scored in ${framesWithFaces}/${sampled}, ` +
        `${plan.tracks.length} track${plan.tracks.length === 1 ? "" : "s"} (at most ${MAX_TRACKS})`,
      `track means ${means.map((m, t) => `#${t + 1} ${m.toFixed(4)} (${counts[t]} faces)`).join(", ")}`,
      plan.tracks.length === 1
        ? "video score = the track mean"
        : decidingTrack !== undefined
          ? `video score = track #${decidingTrack + 1}, the first with a mean above ${TRACK_FAKE_THRESHOLD}`
          : `no track mean above ${TRACK_FAKE_THRESHOLD}: video score = mean of the track means`,
    ];
    if (plan.tooSmall) notes.push(`${plan.tooSmall} detection(s) under ${this.minFaceSide} px not scored`);
    const untracked = plan.perFrame.reduce((n, f) => n + f.length, 0) - plan.items.length;
    if (untracked > 0) notes.push(`${untracked} face(s) outside the ${MAX_TRACKS} longest tracks not scored`);
    return makeResult(probabilityFake, ctx.threshold, { logit: logOdds(probabilityFake), segments, note: notes.join("; ") });
  }

  override async dispose(): Promise<void> {
    const { session, detector } = this;
    this.session = undefined;
    this.detector = undefined;
    await session?.release();
    await detector?.release();
  }

  private require(): { session: CevSession; detector: FaceDetector } {
    if (!this.session || !this.detector) throw new Error("Cross-Efficient-ViT is not loaded");
    return { session: this.session, detector: this.detector };
  }
}
