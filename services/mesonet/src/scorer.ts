// What the image and the video service share: the MesoNet graph, the SDK's YuNet face detector, the choice of
// faces worth scoring, the MesoNet crop of each, and batched scoring.
import { FACE_DETECTOR_MODEL, loadFaceDetector, modelDir, type Face, type FaceDetector, type Provenance } from "@deepsafe/sdk";
import { alignFace, faceGeometry, faceTensor, type Point, type RgbImage } from "./align.js";
import { FACE_FLOATS, MesoSession, readModelDir, WEIGHTS, type MesoWeights } from "./onnx.js";

export interface MesoOptions {
  /** Faces whose MesoNet crop would be smaller than this many source pixels are not scored (default 64). */
  minCropSide?: number;
  /** Most faces scored per image / per video frame, most confident first (default 8 / 3). */
  maxFaces?: number;
  /** YuNet score above which a detection counts as a face (default: the SDK's, 0.6). */
  faceScoreThreshold?: number;
  /** Multiplies the crop side (default 1: upstream's 1.3 · 2.2 · max(eye–eye, eyes–mouth)). */
  cropScale?: number;
  /** Directory of the prepared face detector (default modelDir("face-detector")). */
  faceDetectorDir?: string;
}

export const DEFAULT_MIN_CROP_SIDE = 64;
/** Faces per onnxruntime call. */
const BATCH = 16;

/** A detected face the crop can be made for. */
export interface Candidate {
  face: Face;
  landmarks: Point[];
  /** Side of the MesoNet crop square in source pixels. */
  side: number;
}

export interface Selection {
  candidates: Candidate[];
  /** Detections without landmarks or too small, and how many were beyond maxFaces. */
  tooSmall: number;
  noLandmarks: number;
  dropped: number;
}

/** Faces worth scoring, in the detector's order (most confident first). */
export function selectFaces(faces: Face[], minCropSide: number, maxFaces: number, cropScale = 1): Selection {
  const candidates: Candidate[] = [];
  let tooSmall = 0;
  let noLandmarks = 0;
  let dropped = 0;
  for (const face of faces) {
    if (!face.landmarks || face.landmarks.length !== 5) {
      noLandmarks++;
      continue;
    }
    const landmarks = face.landmarks.map((p) => [p.x, p.y] as Point);
    const side = faceGeometry(landmarks, cropScale).side;
    if (!(side >= minCropSide)) {
      tooSmall++;
      continue;
    }
    if (candidates.length >= maxFaces) {
      dropped++;
      continue;
    }
    candidates.push({ face, landmarks, side });
  }
  return { candidates, tooSmall, noLandmarks, dropped };
}

/** Why nothing could be scored, for abstain(). */
export function noFaceReason(sel: Omit<Selection, "candidates">, where: string, minCropSide: number): string {
  if (sel.tooSmall > 0) {
    return `no face large enough for MesoNet ${where}: ${sel.tooSmall} face(s) found, all with a crop under ${minCropSide} px`;
  }
  if (sel.noLandmarks > 0) return `no face with landmarks ${where} (the crop needs eyes, nose and mouth)`;
  return `no face found ${where}; MesoNet only scores faces`;
}

/** Box clipped to the image, for segments. */
export function clippedBox(box: Face["box"], width: number, height: number, scale = 1) {
  const x0 = Math.max(0, box.x);
  const y0 = Math.max(0, box.y);
  const x1 = Math.min(width, box.x + box.width);
  const y1 = Math.min(height, box.y + box.height);
  return { x: x0 * scale, y: y0 * scale, width: Math.max(0, x1 - x0) * scale, height: Math.max(0, y1 - y0) * scale };
}

export class MesoFaceScorer {
  private constructor(
    readonly cropScale: number,
    readonly weights: MesoWeights,
    readonly session: MesoSession,
    readonly detector: FaceDetector,
    readonly provenance: Provenance,
  ) {}

  static async open(dir: string, weights: MesoWeights, threads: number, options: MesoOptions = {}): Promise<MesoFaceScorer> {
    if (options.cropScale !== undefined && !(options.cropScale > 0 && Number.isFinite(options.cropScale))) {
      throw new RangeError(`crop scale must be positive, got ${options.cropScale}`);
    }
    const { onnxPath, provenance } = await readModelDir(dir, weights);
    const detectorDir = options.faceDetectorDir ?? modelDir(FACE_DETECTOR_MODEL);
    let faces: Awaited<ReturnType<typeof loadFaceDetector>>;
    try {
      faces = await loadFaceDetector(
        threads,
        options.faceScoreThreshold !== undefined ? { scoreThreshold: options.faceScoreThreshold } : {},
        detectorDir,
      );
    } catch (err) {
      throw new Error(
        `MesoNet needs the face detector in ${detectorDir}: ${(err as Error).message} ` +
          "(npm run prepare-model -w @deepsafe/mesonet prepares it too)",
      );
    }
    let session: MesoSession;
    try {
      session = await MesoSession.create(onnxPath, threads);
    } catch (err) {
      await faces.detector.release();
      throw err;
    }
    const detectorNote =
      `faces found by ${faces.provenance.kind} YuNet (${faces.provenance.source}, onnx sha256 ${faces.provenance.onnxSha256 ?? "?"})`;
    return new MesoFaceScorer(options.cropScale ?? 1, weights, session, faces.detector, {
      kind: provenance.kind,
      source: provenance.source,
      checkpointSha256: provenance.checkpointSha256,
      onnxSha256: provenance.onnxSha256,
      license: provenance.license,
      description: `${provenance.description ?? `MesoNet ${weights} (${WEIGHTS[weights].architecture})`}; ${detectorNote}`,
    });
  }

  /** Logits of P(fake) for 256×256 crops, in batches. */
  async scoreCrops(crops: Uint8Array[], signal?: AbortSignal): Promise<number[]> {
    const out: number[] = [];
    for (let start = 0; start < crops.length; start += BATCH) {
      signal?.throwIfAborted();
      const chunk = crops.slice(start, start + BATCH);
      const tensor = new Float32Array(chunk.length * FACE_FLOATS);
      chunk.forEach((crop, i) => faceTensor(crop, tensor, i * FACE_FLOATS));
      const logits = await this.session.logits(tensor, chunk.length);
      for (const l of logits) {
        if (!Number.isFinite(l)) throw new Error(`MesoNet produced a non-finite logit: ${l}`);
        out.push(l);
      }
    }
    return out;
  }

  /** Crops for the selected faces of one image. */
  crops(image: RgbImage, candidates: Candidate[]): Uint8Array[] {
    return candidates.map((c) => alignFace(image, c.landmarks, this.cropScale));
  }

  async warmup(): Promise<void> {
    await this.session.logits(new Float32Array(FACE_FLOATS));
    await this.detector.detect({ data: new Uint8Array(64 * 48 * 3).fill(128), width: 64, height: 48 });
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.detector.release();
  }
}
