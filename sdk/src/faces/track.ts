// A simple IoU tracker: links the faces detected in successive frames into per-person tracks, so a
// video detector can score each person separately (upstream Cross-Efficient-ViT groups faces by their
// rank in each frame, "_0", "_1", "_2", up to 3 per video; linking by overlap keeps identities apart
// when the detector's order changes between frames).
import type { Rect } from "./image.js";
import { iou, type Face } from "./yunet.js";

export interface TrackedFace {
  /** Index of the frame in the input array. */
  frame: number;
  face: Face;
}

export interface FaceTrack {
  /** 0-based, in order of first appearance among the returned tracks. */
  id: number;
  /** One entry per frame in which the track was seen, in frame order. */
  faces: TrackedFace[];
  meanScore: number;
}

export interface TrackOptions {
  /** Tracks returned, longest first by frame count then mean score (default 3, as upstream). */
  maxTracks?: number;
  /** Smallest IoU with a track's last box to continue it (default 0.3). */
  iouThreshold?: number;
  /**
   * When the IoU is below iouThreshold, still continue a track whose last box is about the same size
   * (sides within a factor 1.5) and whose centre moved at most this fraction of its side (default 0.5):
   * sampled frames can be far apart. 0 disables.
   */
  maxCentreShift?: number;
  /** Frames a track may go unseen and still continue (default 2). */
  maxGap?: number;
  /** Drop tracks seen in fewer frames (default 1). */
  minLength?: number;
}

interface OpenTrack {
  faces: TrackedFace[];
  last: Rect;
  lastFrame: number;
}

/** Greedy frame-to-frame association (best pairs first: overlap, then nearby same-size boxes); unmatched faces start new tracks. */
export function trackFaces(framesDetections: Face[][], options: TrackOptions = {}): FaceTrack[] {
  const maxTracks = options.maxTracks ?? 3;
  const threshold = options.iouThreshold ?? 0.3;
  const maxGap = options.maxGap ?? 2;
  const minLength = options.minLength ?? 1;
  const maxShift = options.maxCentreShift ?? 0.5;
  /** > 1 for overlap matches (ranked by IoU), in (0, 1] for nearby same-size boxes, 0 for no match. */
  const affinity = (a: Rect, b: Rect): number => {
    const overlap = iou(a, b);
    if (overlap >= threshold && overlap > 0) return 1 + overlap;
    if (!(maxShift > 0)) return 0;
    const sa = Math.max(a.width, a.height);
    const sb = Math.max(b.width, b.height);
    if (!(sa > 0 && sb > 0) || Math.max(sa, sb) / Math.min(sa, sb) > 1.5) return 0;
    const shift = Math.hypot(a.x + a.width / 2 - b.x - b.width / 2, a.y + a.height / 2 - b.y - b.height / 2) / ((sa + sb) / 2);
    return shift <= maxShift ? 1 - shift / maxShift / 2 : 0;
  };
  const all: OpenTrack[] = [];
  framesDetections.forEach((faces, frame) => {
    const live = all.filter((t) => frame - t.lastFrame - 1 <= maxGap);
    const pairs: { t: OpenTrack; f: number; score: number }[] = [];
    for (const t of live) {
      faces.forEach((face, f) => {
        const score = affinity(t.last, face.box);
        if (score > 0) pairs.push({ t, f, score });
      });
    }
    pairs.sort((a, b) => b.score - a.score);
    const usedTracks = new Set<OpenTrack>();
    const usedFaces = new Set<number>();
    for (const { t, f } of pairs) {
      if (usedTracks.has(t) || usedFaces.has(f)) continue;
      usedTracks.add(t);
      usedFaces.add(f);
      t.faces.push({ frame, face: faces[f]! });
      t.last = faces[f]!.box;
      t.lastFrame = frame;
    }
    faces.forEach((face, f) => {
      if (!usedFaces.has(f)) all.push({ faces: [{ frame, face }], last: face.box, lastFrame: frame });
    });
  });
  const mean = (t: OpenTrack) => t.faces.reduce((s, x) => s + x.face.score, 0) / t.faces.length;
  const best = all
    .filter((t) => t.faces.length >= minLength)
    .map((t, order) => ({ t, order, score: mean(t) }))
    .sort((a, b) => b.t.faces.length - a.t.faces.length || b.score - a.score || a.order - b.order)
    .slice(0, maxTracks)
    .sort((a, b) => a.t.faces[0]!.frame - b.t.faces[0]!.frame || a.order - b.order);
  return best.map(({ t, score }, id) => ({ id, faces: t.faces, meanScore: score }));
}
