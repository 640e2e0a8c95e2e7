// MesoNet on video: the SDK decodes N evenly spaced frames (30 by default, as the authors' pipeline samples 30
// frames per video), YuNet finds the faces in each, the SDK's IoU tracker links them into up to 3 people, every
// face is cropped and scored, and the video score follows Cross-Efficient-ViT's rule: the mean face score per
// track; if some track's mean is above 0.55, the highest such mean, else the mean of the track means.
import {
  VideoModel,
  abstain,
  makeResult,
  trackFaces,
  type DecodedVideo,
  type Face,
  type LoadContext,
  type ModelCard,
  type ModelResult,
  type PredictContext,
  type Provenance,
  type Segment,
} from "@deepsafe/sdk";
import { FACE_SIZE } from "./align.js";
import { CROP_DESCRIPTION, describeWeights, LICENSE, PAPER } from "./model.js";
import { DEFAULT_WEIGHTS, logOdds, sigmoid, UPSTREAM_COMMIT, type MesoWeights } from "./onnx.js";
import { clippedBox, DEFAULT_MIN_CROP_SIDE, MesoFaceScorer, noFaceReason, selectFaces, type Candidate, type MesoOptions } from "./scorer.js";

/** Cross-Efficient-ViT's custom_video_round threshold. */
export const TRACK_FAKE_THRESHOLD = 0.55;
export const MAX_TRACKS = 3;

export function videoCard(weights: MesoWeights): ModelCard {
  return {
    name: "mesonet-video",
    version: `${weights}@${UPSTREAM_COMMIT.slice(0, 7)}`,
    description:
      `MesoNet face-forgery detector on video (${describeWeights(weights)}; official DariusAf/MesoNet weights). ` +
      "30 evenly spaced frames, faces tracked across frames (up to 3 people), per-frame face scores; abstains " +
      "when no face is found in any sampled frame.",
    paper: PAPER,
    license: LICENSE,
    defaultThreshold: 0.5,
    preprocessing:
      `ffmpeg: 30 evenly spaced RGB frames (longer side ≤ 1920); ${CROP_DESCRIPTION}; IoU face tracks; video score ` +
      `= Cross-Efficient-ViT's rule over per-track mean face scores (any track mean > ${TRACK_FAKE_THRESHOLD}: the ` +
      "highest, else the mean of the track means)",
    tensors: [
      { name: "face", datatype: "FP32", shape: [-1, 3, FACE_SIZE, FACE_SIZE] },
      { name: "logit", datatype: "FP32", shape: [-1, 1] },
    ],
    mimeTypes: ["video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo", "video/3gpp"],
    maxBytes: 512 * 1024 * 1024,
    maxPixels: 40_000_000,
  };
}

/** The video score from per-track mean face scores (Cross-Efficient-ViT's custom_video_round, order-free). */
export function videoScore(trackMeans: number[]): { probabilityFake: number; decidingTrack: number | undefined } {
  if (trackMeans.length === 0) throw new RangeError("no tracks");
  let best: number | undefined;
  trackMeans.forEach((m, i) => {
    if (m > TRACK_FAKE_THRESHOLD && (best === undefined || m > trackMeans[best]!)) best = i;
  });
  if (best !== undefined) return { probabilityFake: trackMeans[best]!, decidingTrack: best };
  return { probabilityFake: trackMeans.reduce((a, b) => a + b, 0) / trackMeans.length, decidingTrack: undefined };
}

export class MesoNetVideoModel extends VideoModel {
  readonly card: ModelCard;
  private scorer: MesoFaceScorer | undefined;

  constructor(
    readonly weights: MesoWeights = DEFAULT_WEIGHTS,
    private readonly options: MesoOptions = {},
  ) {
    super();
    this.card = videoCard(weights);
    // 1080p stays native (MesoNet looks at mesoscopic detail); larger frames are shrunk.
    this.maxFrameSide = 1920;
  }

  async load(ctx: LoadContext): Promise<Provenance> {
    const scorer = await MesoFaceScorer.open(ctx.modelDir, this.weights, ctx.intraOpThreads, this.options);
    await this.scorer?.release();
    this.scorer = scorer;
    return scorer.provenance;
  }

  override async warmup(): Promise<void> {
    await this.requireScorer().warmup();
  }

  async predict(video: DecodedVideo, ctx: PredictContext): Promise<ModelResult> {
    const scorer = this.requireScorer();
    const minSide = this.options.minCropSide ?? DEFAULT_MIN_CROP_SIDE;
    const maxFaces = this.options.maxFaces ?? MAX_TRACKS;
    const frames = video.frames;
    // Boxes are reported in the source's display pixels (frames may have been shrunk for decoding).
    const toSource = video.width > 0 ? video.sourceWidth / video.width : 1;

    const perFrame: Face[][] = [];
    const candidateOf = new Map<Face, Candidate>();
    const totals = { tooSmall: 0, noLandmarks: 0, dropped: 0 };
    for (const frame of frames) {
      ctx.signal.throwIfAborted();
      const sel = selectFaces(await scorer.detector.detect(frame), minSide, maxFaces, scorer.cropScale);
      totals.tooSmall += sel.tooSmall;
      totals.noLandmarks += sel.noLandmarks;
      totals.dropped += sel.dropped;
      for (const c of sel.candidates) candidateOf.set(c.face, c);
      perFrame.push(sel.candidates.map((c) => c.face));
    }
    const where = `in ${frames.length} sampled frame${frames.length === 1 ? "" : "s"}`;
    if (candidateOf.size === 0) return abstain(noFaceReason(totals, where, minSide), ctx.threshold);

    const tracks = trackFaces(perFrame, { maxTracks: MAX_TRACKS });
    // Crop and score every tracked face, frame by frame (one frame's pixels at a time).
    const items = tracks.flatMap((t) => t.faces.map((tf) => ({ track: t.id, frame: tf.frame, face: tf.face })));
    items.sort((a, b) => a.frame - b.frame || a.track - b.track);
    const crops: Uint8Array[] = items.map((it) => {
      const frame = frames[it.frame]!;
      return scorer.crops(frame, [candidateOf.get(it.face)!])[0]!;
    });
    ctx.signal.throwIfAborted();
    const logits = await scorer.scoreCrops(crops, ctx.signal);

    const sums = new Array<number>(tracks.length).fill(0);
    const counts = new Array<number>(tracks.length).fill(0);
    const segments: Segment[] = items.map((it, i) => {
      const p = sigmoid(logits[i]!);
      sums[it.track]! += p;
      counts[it.track]! += 1;
      const frame = frames[it.frame]!;
      const next = frames[it.frame + 1];
      return {
        kind: "frame",
        index: frame.index,
        startSeconds: frame.timeSeconds,
        endSeconds: next ? next.timeSeconds : Math.max(frame.timeSeconds, video.durationSeconds),
        probabilityFake: p,
        box: clippedBox(it.face.box, frame.width, frame.height, toSource),
        track: it.track + 1, // 1-based: 0 means "no track"
      };
    });
    const means = sums.map((s, i) => s / counts[i]!);
    const { probabilityFake, decidingTrack } = videoScore(means);
    const framesWithFaces = perFrame.filter((f) => f.length > 0).length;
    const notes = [
      `${items.length} face crops from ${framesWithFaces}/${frames.length} frames, ${tracks.length} track${tracks.length === 1 ? "" : "s"} (${this.weights})`,
      `track means ${means.map((m, i) => `#${i + 1} ${m.toFixed(4)} (${counts[i]} faces)`).join(", ")}`,
      decidingTrack !== undefined
        ? `video score = track #${decidingTrack + 1} (mean above ${TRACK_FAKE_THRESHOLD})`
        : `no track mean above ${TRACK_FAKE_THRESHOLD}: video score = mean of track means`,
    ];
    if (totals.tooSmall) notes.push(`${totals.tooSmall} face detection(s) too small to score (crop under ${minSide} px)`);
    return makeResult(probabilityFake, ctx.threshold, { logit: logOdds(probabilityFake), segments, note: notes.join("; ") });
  }

  override async dispose(): Promise<void> {
    const scorer = this.scorer;
    this.scorer = undefined;
    await scorer?.release();
  }

  private requireScorer(): MesoFaceScorer {
    if (!this.scorer) throw new Error("MesoNet is not loaded");
    return this.scorer;
  }
}
