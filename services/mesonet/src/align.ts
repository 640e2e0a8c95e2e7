// The MesoNet face crop from five landmarks (right eye, left eye, nose tip, right and left mouth corner: what
// YuNet gives), after the original pipeline (DariusAf/MesoNet pipeline.py, FaceFinder.find_coordinates +
// get_aligned_face): a square of side 1.3 · 2.2 · max(|eye − eye|, |mouth − eyes|) centred on the nose, turned
// so that the eyes → mouth line points straight down, resized to 256×256.
//
// Exactly the computation of python/face_align.py (the reference this is tested against), in the same order of
// float64 operations: output pixel (u, v) centre → a = u·s + (i + ½)/k·s − side/2 along the face's right axis,
// b likewise along its down axis, s = side / 256; bilinear interpolation with pixel centres at integer
// coordinates; outside the image, indices are reflected (numpy "reflect", as upstream pads); when shrinking
// (s > 1) every output pixel averages k×k samples, k = ⌈s⌉ ≤ 12 (antialiasing); rounded half up to uint8.
// Differences to upstream: the nose tip stands in for dlib's nose centre (≈3 % of the side lower), and the
// sampling is bilinear (+ box antialiasing) instead of scipy's cubic-spline rotate and zoom.

export const FACE_SIZE = 256;
export const K_DISTANCE = 2.2;
export const L_FACTOR = 1.3;
export const MAX_SUPERSAMPLE = 12;

export type Point = readonly [number, number];

export interface RgbImage {
  /** Interleaved RGB, 8 bits per channel, row-major (HWC). */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface FaceGeometry {
  /** Centre (the nose tip). */
  cx: number;
  cy: number;
  /** Side of the square in source pixels. */
  side: number;
  /** Unit vector along the face's right axis (x of the crop). */
  rx: number;
  ry: number;
  /** Unit vector along the face's down axis, eyes → mouth (y of the crop). */
  dx: number;
  dy: number;
}

/**
 * Crop geometry from 5 landmarks: [eye, eye, nose tip, mouth corner, mouth corner] (either order of pairs).
 * `scale` multiplies the side (1 = upstream's 1.3 · 2.2 · max(...)).
 */
export function faceGeometry(landmarks: readonly Point[], scale = 1): FaceGeometry {
  if (landmarks.length !== 5) throw new RangeError(`need 5 landmarks, got ${landmarks.length}`);
  const [[e1x, e1y], [e2x, e2y], [nx, ny], [m1x, m1y], [m2x, m2y]] = landmarks as [Point, Point, Point, Point, Point];
  const ex = (e1x + e2x) / 2.0;
  const ey = (e1y + e2y) / 2.0;
  const bx = (m1x + m2x) / 2.0;
  const by = (m1y + m2y) / 2.0;
  const eyeDx = e1x - e2x;
  const eyeDy = e1y - e2y;
  const eyeDist = Math.sqrt(eyeDx * eyeDx + eyeDy * eyeDy);
  const vx = bx - ex;
  const vy = by - ey;
  const mouthDist = Math.sqrt(vx * vx + vy * vy);
  const side = L_FACTOR * (K_DISTANCE * Math.max(eyeDist, mouthDist)) * scale;
  let dx = 0.0;
  let dy = 1.0;
  if (mouthDist > 0.0) {
    dx = vx / mouthDist;
    dy = vy / mouthDist;
  }
  return { cx: nx, cy: ny, side, rx: dy, ry: -dx, dx, dy };
}

/** Axis-aligned bounding box of the (rotated) crop square, in image pixels. */
export function cropBox(g: FaceGeometry): { x: number; y: number; width: number; height: number } {
  const half = g.side / 2.0;
  const xs: number[] = [];
  const ys: number[] = [];
  for (const sa of [-1, 1]) {
    for (const sb of [-1, 1]) {
      xs.push(g.cx + sa * half * g.rx + sb * half * g.dx);
      ys.push(g.cy + sa * half * g.ry + sb * half * g.dy);
    }
  }
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** numpy.pad(mode="reflect") index mapping (edge not repeated), any distance out. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let m = i % period;
  if (m < 0) m += period;
  return m >= n ? period - m : m;
}

/** The 256×256 RGB face crop (uint8, HWC) for one face; `scale` multiplies the crop side (see faceGeometry). */
export function alignFace(image: RgbImage, landmarks: readonly Point[], scale = 1, out?: Uint8Array): Uint8Array {
  const { data, width: w, height: h } = image;
  if (data.length !== w * h * 3) throw new RangeError(`expected ${w * h * 3} bytes for ${w}x${h} RGB, got ${data.length}`);
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`crop scale must be positive, got ${scale}`);
  const g = faceGeometry(landmarks, scale);
  if (!(g.side > 0) || !Number.isFinite(g.side) || ![g.cx, g.cy].every(Number.isFinite)) {
    throw new RangeError("degenerate face landmarks");
  }
  const size = FACE_SIZE;
  const crop = out ?? new Uint8Array(size * size * 3);
  const s = g.side / size;
  const half = g.side / 2.0;
  const k = Math.min(MAX_SUPERSAMPLE, Math.max(1, Math.ceil(s)));
  const offsets = new Float64Array(k);
  for (let i = 0; i < k; i++) offsets[i] = ((i + 0.5) / k) * s;
  // a[u * k + i] = (u * s + offsets[i]) - half; the same grid serves b.
  const grid = new Float64Array(size * k);
  for (let u = 0; u < size; u++) for (let i = 0; i < k; i++) grid[u * k + i] = u * s + offsets[i]! - half;
  const { cx, cy, rx, ry, dx, dy } = g;
  const count = k * k;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      let s0 = 0.0;
      let s1 = 0.0;
      let s2 = 0.0;
      for (let j = 0; j < k; j++) {
        const b = grid[v * k + j]!;
        for (let i = 0; i < k; i++) {
          const a = grid[u * k + i]!;
          const x = cx + a * rx + b * dx;
          const y = cy + a * ry + b * dy;
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          const fx = x - x0;
          const fy = y - y0;
          const xa = reflect(x0, w) * 3;
          const xb = reflect(x0 + 1, w) * 3;
          const ya = reflect(y0, h) * w * 3;
          const yb = reflect(y0 + 1, h) * w * 3;
          const p00 = ya + xa;
          const p10 = ya + xb;
          const p01 = yb + xa;
          const p11 = yb + xb;
          // channel c: top = p00 + (p10 - p00)·fx; bottom = p01 + (p11 - p01)·fx; top + (bottom - top)·fy
          let t = data[p00]! + (data[p10]! - data[p00]!) * fx;
          let bt = data[p01]! + (data[p11]! - data[p01]!) * fx;
          s0 += t + (bt - t) * fy;
          t = data[p00 + 1]! + (data[p10 + 1]! - data[p00 + 1]!) * fx;
          bt = data[p01 + 1]! + (data[p11 + 1]! - data[p01 + 1]!) * fx;
          s1 += t + (bt - t) * fy;
          t = data[p00 + 2]! + (data[p10 + 2]! - data[p00 + 2]!) * fx;
          bt = data[p01 + 2]! + (data[p11 + 2]! - data[p01 + 2]!) * fx;
          s2 += t + (bt - t) * fy;
        }
      }
      const o = (v * size + u) * 3;
      crop[o] = clamp8(Math.floor(s0 / count + 0.5));
      crop[o + 1] = clamp8(Math.floor(s1 / count + 0.5));
      crop[o + 2] = clamp8(Math.floor(s2 / count + 0.5));
    }
  }
  return crop;
}

function clamp8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** 256×256 RGB uint8 (HWC) → float32 CHW in [0, 1] (u / 255, as Keras' rescale), written at `offset` of `out`. */
export function faceTensor(crop: Uint8Array, out?: Float32Array, offset = 0): Float32Array {
  const plane = FACE_SIZE * FACE_SIZE;
  if (crop.length !== plane * 3) throw new RangeError(`expected a ${FACE_SIZE}x${FACE_SIZE} RGB crop, got ${crop.length} bytes`);
  const tensor = out ?? new Float32Array(plane * 3);
  if (tensor.length < offset + plane * 3) throw new RangeError("output tensor too small");
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    tensor[offset + i] = SCALE[crop[p]!]!;
    tensor[offset + plane + i] = SCALE[crop[p + 1]!]!;
    tensor[offset + 2 * plane + i] = SCALE[crop[p + 2]!]!;
  }
  return tensor;
}

/** float32(u) / float32(255), correctly rounded (as numpy/torch float32 division). */
const SCALE = Float32Array.from({ length: 256 }, (_, u) => Math.fround(u / 255));
