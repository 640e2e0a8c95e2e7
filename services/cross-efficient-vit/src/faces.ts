// From decoded frames to the faces Cross-Efficient-ViT scores: YuNet detections per frame (upstream: MTCNN
// on half-size frames, minimum face 20 px there, i.e. about 40 px in the frame), an IoU tracker linking them
// into at most 3 people (upstream: the face index within each frame, up to 3), and the network input of
// each face exactly as upstream prepares it (extract_crops.py square crop, IsotropicResize 224,
// PadIfNeeded with zeros, BGR 0..255; @deepsafe/sdk faceTensor).
//
// Track order matters to the video rule ("the first track above 0.55"). Upstream's groups are the face indices
// "_0", "_1", "_2" of each frame, and facenet-pytorch's MTCNN.detect (select_largest, its default) lists faces
// largest first, so "_0" is the largest face; tracks are therefore numbered by mean box area, largest first.
import {
  faceTensor,
  squareCropBox,
  trackFaces,
  type Face,
  type FaceDetector,
  type FaceTrack,
  type RgbImage,
  type VideoFrame,
} from "@deepsafe/sdk";
import { FACE_FLOATS, FACE_SIZE } from "./onnx.js";

export const MAX_TRACKS = 3;
/** Smallest face scored, longer box side in source pixels (MTCNN's 20 px on upstream's half-size frames). */
export const DEFAULT_MIN_FACE_SIDE = 40;

export interface FaceItem {
  /** 0-based track index (tracks by mean face size, largest first). */
  track: number;
  /** Index into the decoded frames. */
  frame: number;
  face: Face;
}

export interface FacePlan {
  /** Faces kept per frame (after the size filter), the tracker's input. */
  perFrame: Face[][];
  tracks: FaceTrack[];
  /** Every tracked face, by frame then track: what gets scored. */
  items: FaceItem[];
  /** Detections dropped as smaller than minFaceSide, or lying outside the frame. */
  tooSmall: number;
  outside: number;
}

export interface PlanOptions {
  /** Longer box side in source pixels below which a face is not scored. */
  minFaceSide?: number;
  /** Source pixels per frame pixel (frames may have been shrunk for decoding). */
  sourceScale?: number;
}

/** Detect faces in every frame, drop the unusable ones, track, and list the faces to score. */
export async function planFaces(
  frames: readonly RgbImage[],
  detector: Pick<FaceDetector, "detect">,
  options: PlanOptions = {},
  signal?: AbortSignal,
): Promise<FacePlan> {
  const minSide = options.minFaceSide ?? DEFAULT_MIN_FACE_SIDE;
  const scale = options.sourceScale ?? 1;
  const perFrame: Face[][] = [];
  let tooSmall = 0;
  let outside = 0;
  for (const frame of frames) {
    signal?.throwIfAborted();
    const kept: Face[] = [];
    for (const face of await detector.detect(frame)) {
      const crop = squareCropBox(face.box, frame.width, frame.height);
      if (crop.width === 0 || crop.height === 0) outside++;
      else if (Math.max(face.box.width, face.box.height) * scale < minSide) tooSmall++;
      else kept.push(face);
    }
    perFrame.push(kept);
  }
  const tracks = bySize(trackFaces(perFrame, { maxTracks: MAX_TRACKS }));
  const items = tracks.flatMap((t) => t.faces.map((tf) => ({ track: t.id, frame: tf.frame, face: tf.face })));
  items.sort((a, b) => a.frame - b.frame || a.track - b.track);
  return { perFrame, tracks, items, tooSmall, outside };
}

/** Tracks renumbered by mean face box area, largest first (ties: first appearance). */
export function bySize(tracks: readonly FaceTrack[]): FaceTrack[] {
  const area = (t: FaceTrack) => t.faces.reduce((s, f) => s + f.face.box.width * f.face.box.height, 0) / t.faces.length;
  return tracks
    .map((t) => ({ t, area: area(t) }))
    .sort((a, b) => b.area - a.area || a.t.id - b.t.id)
    .map(({ t }, id) => ({ ...t, id }));
}

/** Network inputs of `items` (back to back, [n, 3, 224, 224]), BGR 0..255. */
export function faceTensors(frames: readonly RgbImage[], items: readonly FaceItem[]): Float32Array {
  const out = new Float32Array(items.length * FACE_FLOATS);
  items.forEach((it, i) => {
    out.set(faceTensor(frames[it.frame]!, it.face.box, { size: FACE_SIZE, channels: "bgr" }), i * FACE_FLOATS);
  });
  return out;
}

/** The face box clipped to the frame, in source pixels, for segments. */
export function sourceBox(face: Face, frame: Pick<VideoFrame, "width" | "height">, scale: number) {
  const { box } = face;
  const x0 = Math.max(0, box.x);
  const y0 = Math.max(0, box.y);
  const x1 = Math.min(frame.width, box.x + box.width);
  const y1 = Math.min(frame.height, box.y + box.height);
  return { x: x0 * scale, y: y0 * scale, width: Math.max(0, x1 - x0) * scale, height: Math.max(0, y1 - y0) * scale };
}
