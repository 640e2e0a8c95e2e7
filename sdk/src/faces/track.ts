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

/** Greedy frame-to-frame association by IoU (best pairs first); unmatched faces start new tracks. */
export function trackFaces(framesDetections: Face[][], options: TrackOptions = {}): FaceTrack[] {
  const maxTracks = options.maxTracks ?? 3;
  const threshold = options.iouThreshold ?? 0.3;
  const maxGap = options.maxGap ?? 2;
  const minLength = options.minLength ?? 1;
  const all: OpenTrack[] = [];
  framesDetections.forEach((faces, frame) => {
    const live = all.filter((t) => frame - t.lastFrame - 1 <= maxGap);
    const pairs: { t: OpenTrack; f: number; overlap: number }[] = [];
    for (const t of live) {
      faces.forEach((face, f) => {
        const overlap = iou(t.last, face.box);
        if (overlap >= threshold && overlap > 0) pairs.push({ t, f, overlap });
      });
    }
    pairs.sort((a, b) => b.overlap - a.overlap);
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
