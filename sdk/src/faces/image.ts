// Small image operations on interleaved 8-bit RGB (HWC) buffers, written to be reproducible: each has a
// float64 definition that our Python references compute the same way (sdk/python/yunet_reference.py).

/** Interleaved 8-bit RGB, row-major (HWC): what decodeImage and decodeVideo return. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export type ResizeKernel = "linear" | "area" | "cubic";

function checkImage(image: RgbImage): void {
  if (!(image.width > 0 && image.height > 0) || image.data.length !== image.width * image.height * 3) {
    throw new RangeError(`not an RGB image: ${image.width}x${image.height} with ${image.data.length} bytes`);
  }
}

const toByte = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5));

interface LinearTaps {
  i0: Int32Array;
  i1: Int32Array;
  frac: Float64Array;
}

/** cv2 INTER_LINEAR sampling positions: half-pixel centres, clamped at the borders. */
function linearTaps(dst: number, src: number): LinearTaps {
  const scale = src / dst;
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const frac = new Float64Array(dst);
  for (let d = 0; d < dst; d++) {
    const f = (d + 0.5) * scale - 0.5;
    let s = Math.floor(f);
    let t = f - s;
    if (s < 0) {
      t = 0;
      s = 0;
    }
    if (s >= src - 1) {
      t = 0;
      s = src - 1;
    }
    i0[d] = s;
    i1[d] = Math.min(s + 1, src - 1);
    frac[d] = t;
  }
  return { i0, i1, frac };
}

/**
 * Bilinear resize with cv2.resize INTER_LINEAR's geometry, evaluated in float64 and rounded half up
 * (OpenCV's own 11-bit fixed point differs by at most one grey level).
 */
export function resizeLinear(image: RgbImage, width: number, height: number): RgbImage {
  checkImage(image);
  const { data: src, width: sw, height: sh } = image;
  const xs = linearTaps(width, sw);
  const ys = linearTaps(height, sh);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const fy = ys.frac[y]!;
    const r0 = ys.i0[y]! * sw * 3;
    const r1 = ys.i1[y]! * sw * 3;
    for (let x = 0; x < width; x++) {
      const fx = xs.frac[x]!;
      const c0 = xs.i0[x]! * 3;
      const c1 = xs.i1[x]! * 3;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = (1 - fx) * src[r0 + c0 + c]! + fx * src[r0 + c1 + c]!;
        const bottom = (1 - fx) * src[r1 + c0 + c]! + fx * src[r1 + c1 + c]!;
        out[o + c] = toByte((1 - fy) * top + fy * bottom);
      }
    }
  }
  return { data: out, width, height };
}

/** Area weights of destination cells over source cells (cv2 INTER_AREA's definition, for shrinking). */
function areaTaps(dst: number, src: number): { start: Int32Array; weights: Float64Array[] } {
  const scale = src / dst;
  const start = new Int32Array(dst);
  const weights: Float64Array[] = [];
  for (let d = 0; d < dst; d++) {
    const a = d * scale;
    const b = Math.min((d + 1) * scale, src);
    const first = Math.floor(a);
    const last = Math.min(Math.ceil(b), src);
    const w = new Float64Array(Math.max(1, last - first));
    for (let s = first; s < last; s++) w[s - first] = (Math.min(b, s + 1) - Math.max(a, s)) / scale;
    start[d] = first;
    weights.push(w);
  }
  return { start, weights };
}

/** Area-average resize (cv2 INTER_AREA when shrinking): every source pixel weighted by its overlap. */
export function resizeArea(image: RgbImage, width: number, height: number): RgbImage {
  checkImage(image);
  if (width > image.width || height > image.height) return resizeLinear(image, width, height); // as cv2 does
  const { data: src, width: sw } = image;
  const xs = areaTaps(width, image.width);
  const ys = areaTaps(height, image.height);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const wy = ys.weights[y]!;
    const y0 = ys.start[y]!;
    for (let x = 0; x < width; x++) {
      const wx = xs.weights[x]!;
      const x0 = xs.start[x]!;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < wy.length; j++) {
        const row = (y0 + j) * sw;
        for (let i = 0; i < wx.length; i++) {
          const w = wy[j]! * wx[i]!;
          const p = (row + x0 + i) * 3;
          r += w * src[p]!;
          g += w * src[p + 1]!;
          b += w * src[p + 2]!;
        }
      }
      const o = (y * width + x) * 3;
      out[o] = toByte(r);
      out[o + 1] = toByte(g);
      out[o + 2] = toByte(b);
    }
  }
  return { data: out, width, height };
}

/** Keys' cubic kernel with a = -0.75 (OpenCV's INTER_CUBIC). */
function cubicWeights(t: number): [number, number, number, number] {
  const A = -0.75;
  const w0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
  const w1 = ((A + 2) * t - (A + 3)) * t * t + 1;
  const w2 = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
  return [w0, w1, w2, 1 - w0 - w1 - w2];
}

/** Bicubic resize with cv2 INTER_CUBIC's geometry (half-pixel centres, a = -0.75, replicated borders). */
export function resizeCubic(image: RgbImage, width: number, height: number): RgbImage {
  checkImage(image);
  const { data: src, width: sw, height: sh } = image;
  const taps = (dst: number, size: number) => {
    const scale = size / dst;
    return Array.from({ length: dst }, (_, d) => {
      const f = (d + 0.5) * scale - 0.5;
      const s = Math.floor(f);
      const idx = [s - 1, s, s + 1, s + 2].map((i) => Math.min(Math.max(i, 0), size - 1));
      return { idx, w: cubicWeights(f - s) };
    });
  };
  const xs = taps(width, sw);
  const ys = taps(height, sh);
  // Horizontal pass into float rows, then vertical.
  const rows = new Float64Array(sh * width * 3);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < width; x++) {
      const { idx, w } = xs[x]!;
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += w[k]! * src[(y * sw + idx[k]!) * 3 + c]!;
        rows[(y * width + x) * 3 + c] = v;
      }
    }
  }
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const { idx, w } = ys[y]!;
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += w[k]! * rows[(idx[k]! * width + x) * 3 + c]!;
        out[(y * width + x) * 3 + c] = toByte(v);
      }
    }
  }
  return { data: out, width, height };
}

export function resize(image: RgbImage, width: number, height: number, kernel: ResizeKernel = "linear"): RgbImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`resize target must be positive integers, got ${width}x${height}`);
  }
  if (width === image.width && height === image.height) return { data: Uint8Array.from(image.data), width, height };
  if (kernel === "area") return resizeArea(image, width, height);
  if (kernel === "cubic") return resizeCubic(image, width, height);
  return resizeLinear(image, width, height);
}

/** Copy of a rectangle (integer, inside the image) of an RGB image. */
export function cropImage(image: RgbImage, rect: Rect): RgbImage {
  checkImage(image);
  const { x, y, width, height } = rect;
  if (![x, y, width, height].every(Number.isInteger) || x < 0 || y < 0 || width <= 0 || height <= 0 ||
      x + width > image.width || y + height > image.height) {
    throw new RangeError(`crop ${width}x${height}+${x}+${y} is not inside the ${image.width}x${image.height} image`);
  }
  const out = new Uint8Array(width * height * 3);
  for (let r = 0; r < height; r++) {
    const from = ((y + r) * image.width + x) * 3;
    out.set(image.data.subarray(from, from + width * 3), r * width * 3);
  }
  return { data: out, width, height };
}
