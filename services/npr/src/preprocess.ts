// NPR preprocessing, reproducing upstream's evaluation transform bit for bit:
//   PIL Image.resize((256, 256), BILINEAR)  ->  ToTensor  ->  Normalize(ImageNet mean/std)
// on 8-bit RGB (the SDK's decode drops alpha like PIL's convert("RGB")). No crop.
//
// The resize is a port of Pillow's ImagingResample (src/libImaging/Resample.c, Pillow 9.4) for
// 8-bit images: a separable convolution with a triangle filter whose support grows with the
// downscale factor (so shrinking antialiases), coefficients normalised per output pixel and
// converted to 22-bit fixed point, a horizontal pass first (over only the source rows the
// vertical pass reads) rounded and clipped to uint8, then a vertical pass. A pass whose size does
// not change is skipped; an unchanged image is copied.

export const INPUT_SIZE = 256;
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Pillow: PRECISION_BITS = 32 - 8 - 2 (8 bits of result, 2 spare bits for overflow and sign). */
const PRECISION_BITS = 32 - 8 - 2;
const BILINEAR_SUPPORT = 1.0;

interface Coefficients {
  /** Taps per output pixel (the stride in `weights`). */
  ksize: number;
  /** Per output pixel: first source index. */
  start: Int32Array;
  /** Per output pixel: number of source pixels used. */
  count: Int32Array;
  /** Fixed-point weights, ksize per output pixel. */
  weights: Int32Array;
}

function triangle(x: number): number {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the bilinear filter and box (0, inSize). */
function precomputeCoefficients(inSize: number, outSize: number): Coefficients {
  const in0 = 0;
  const in1 = inSize;
  const scale = (in1 - in0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = BILINEAR_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1.0 / filterscale;
  const one = 1 << PRECISION_BITS;
  for (let xx = 0; xx < outSize; xx++) {
    const center = in0 + (xx + 0.5) * scale;
    let ww = 0.0;
    // C casts (int) truncate toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0.0 ? k[x]! / ww : k[x]!;
      weights[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * one) : Math.trunc(0.5 + v * one);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

/** Pillow's clip8: arithmetic shift by PRECISION_BITS, then clamp to [0, 255]. */
function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resize interleaved 8-bit pixels exactly as Pillow 9.4's Image.resize(size, Image.BILINEAR)
 * (no box, no reducing_gap). `channels` is 1 to 4; every channel is filtered independently.
 */
export function resizeBilinearPil(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad source size ${width}x${height}`);
  }
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth < 1 || outHeight < 1) {
    throw new RangeError(`bad target size ${outWidth}x${outHeight}`);
  }
  if (src.length !== width * height * channels) {
    throw new RangeError(`expected ${width * height * channels} bytes, got ${src.length}`);
  }
  if (width === outWidth && height === outHeight) return Uint8Array.from(src);

  const needHorizontal = outWidth !== width;
  const needVertical = outHeight !== height;
  const horiz = precomputeCoefficients(width, outWidth);
  const vert = precomputeCoefficients(height, outHeight);
  const half = 1 << (PRECISION_BITS - 1);

  let img = src;
  let imgWidth = width;
  // Source rows the vertical pass reads (all rows when there is no vertical pass).
  const firstRow = vert.start[0]!;
  const lastRow = vert.start[outHeight - 1]! + vert.count[outHeight - 1]!;
  let rowOffset = 0;

  if (needHorizontal) {
    const rows = needVertical ? lastRow - firstRow : height;
    const rowStart = needVertical ? firstRow : 0;
    const out = new Uint8Array(outWidth * rows * channels);
    const { ksize, start, count, weights } = horiz;
    const acc = new Float64Array(channels);
    for (let yy = 0; yy < rows; yy++) {
      const rowBase = (yy + rowStart) * width * channels;
      const outBase = yy * outWidth * channels;
      for (let xx = 0; xx < outWidth; xx++) {
        const xmin = start[xx]!;
        const n = count[xx]!;
        const kBase = xx * ksize;
        let p = rowBase + xmin * channels;
        const o = outBase + xx * channels;
        if (channels === 3) {
          // The common case, unrolled (about 3x faster than the generic loop).
          let s0 = half, s1 = half, s2 = half;
          for (let x = 0; x < n; x++, p += 3) {
            const w = weights[kBase + x]!;
            s0 += src[p]! * w;
            s1 += src[p + 1]! * w;
            s2 += src[p + 2]! * w;
          }
          out[o] = clip8(s0);
          out[o + 1] = clip8(s1);
          out[o + 2] = clip8(s2);
          continue;
        }
        acc.fill(half);
        for (let x = 0; x < n; x++, p += channels) {
          const w = weights[kBase + x]!;
          for (let c = 0; c < channels; c++) acc[c] = acc[c]! + src[p + c]! * w;
        }
        for (let c = 0; c < channels; c++) out[o + c] = clip8(acc[c]!);
      }
    }
    img = out;
    imgWidth = outWidth;
    rowOffset = needVertical ? firstRow : 0;
  }

  if (!needVertical) return img === src ? Uint8Array.from(src) : img;

  const out = new Uint8Array(imgWidth * outHeight * channels);
  const { ksize, start, count, weights } = vert;
  const stride = imgWidth * channels;
  const rowLen = imgWidth * channels;
  const acc = new Float64Array(rowLen);
  for (let yy = 0; yy < outHeight; yy++) {
    const ymin = start[yy]! - rowOffset;
    const n = count[yy]!;
    const kBase = yy * ksize;
    acc.fill(half);
    for (let y = 0; y < n; y++) {
      const w = weights[kBase + y]!;
      const base = (ymin + y) * stride;
      for (let i = 0; i < rowLen; i++) acc[i] = acc[i]! + img[base + i]! * w;
    }
    const o = yy * rowLen;
    for (let i = 0; i < rowLen; i++) out[o + i] = clip8(acc[i]!);
  }
  return out;
}

/**
 * torchvision ToTensor + Normalize on interleaved RGB uint8, in float32 arithmetic as torch does:
 * ((u / 255) - mean) / std, each step rounded to float32. Returns CHW.
 */
export function normalizeImageNet(rgb: Uint8Array, width: number, height: number, out?: Float32Array): Float32Array {
  const plane = width * height;
  if (rgb.length !== plane * 3) throw new RangeError(`expected ${plane * 3} bytes, got ${rgb.length}`);
  const tensor = out ?? new Float32Array(plane * 3);
  if (tensor.length !== plane * 3) throw new RangeError(`output must hold ${plane * 3} floats`);
  const lut = normalizationTable();
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    tensor[i] = lut[rgb[p]!]!;
    tensor[plane + i] = lut[256 + rgb[p + 1]!]!;
    tensor[2 * plane + i] = lut[512 + rgb[p + 2]!]!;
  }
  return tensor;
}

let table: Float32Array | undefined;
function normalizationTable(): Float32Array {
  if (table) return table;
  const f = Math.fround;
  table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = f(IMAGENET_MEAN[c]!);
    const std = f(IMAGENET_STD[c]!);
    // Each operation on float32 values computed in double and rounded once is the exact float32
    // result (double has more than 2 * 24 + 2 bits), so this matches torch's float32 kernels.
    for (let u = 0; u < 256; u++) table[c * 256 + u] = f(f(u / 255) - mean) / std;
  }
  return table;
}

export interface RgbImage {
  /** Interleaved RGB, 8 bits per channel, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** Decoded RGB -> NPR input tensor [3, 256, 256] float32 (CHW). */
export function preprocessNpr(image: RgbImage, out?: Float32Array): Float32Array {
  const resized = resizeBilinearPil(image.data, image.width, image.height, 3, INPUT_SIZE, INPUT_SIZE);
  return normalizeImageNet(resized, INPUT_SIZE, INPUT_SIZE, out);
}
