// UniversalFakeDetect preprocessing, reproducing upstream's evaluation transform (validate.py):
//   PIL convert("RGB") -> transforms.CenterCrop(224) -> ToTensor -> Normalize(CLIP mean, CLIP std)
// at the image's native resolution: no resize. torchvision's CenterCrop first zero-pads (black) a
// side shorter than 224 — (224 - s) // 2 pixels before it, the rest after — and crops a longer side
// starting at round((s - 224) / 2), with Python's round (a half goes to the even integer).
// Each axis is handled on its own, so a 100x500 image is padded horizontally and cropped vertically.

export const INPUT_SIZE = 224;
export const PLANE = INPUT_SIZE * INPUT_SIZE;
/** validate.py MEAN["clip"] / STD["clip"] (the constants of CLIP's own preprocessing). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export interface AxisGeometry {
  /** Zero pixels placed before the image along this axis. */
  padBefore: number;
  /** First source index inside the crop window (0 when padded). */
  start: number;
}

/** torchvision center_crop along one axis of length `size` for a crop of `crop`. */
export function cropGeometry(size: number, crop = INPUT_SIZE): AxisGeometry {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`bad image size ${size}`);
  if (size < crop) return { padBefore: (crop - size) >> 1, start: 0 };
  // Python round((size - crop) / 2.0): the exact half of an odd difference goes to the even neighbour.
  const d = size - crop;
  const half = Math.floor(d / 2);
  return { padBefore: 0, start: d % 2 === 1 && half % 2 === 1 ? half + 1 : half };
}

export interface RgbImage {
  /** Interleaved RGB, 8 bits per channel, row-major. */
  data: Uint8Array;
  width: number;
  height: number;
}

/** The 224x224 RGB window upstream's CenterCrop yields (padding black), interleaved HWC. */
export function centerCrop(image: RgbImage, crop = INPUT_SIZE): Uint8Array {
  const { data, width, height } = image;
  if (data.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} bytes, got ${data.length}`);
  const gx = cropGeometry(width, crop);
  const gy = cropGeometry(height, crop);
  const out = new Uint8Array(crop * crop * 3);
  const rows = Math.min(height, crop);
  const cols = Math.min(width, crop);
  for (let r = 0; r < rows; r++) {
    const src = ((gy.start + r) * width + gx.start) * 3;
    const dst = ((gy.padBefore + r) * crop + gx.padBefore) * 3;
    out.set(data.subarray(src, src + cols * 3), dst);
  }
  return out;
}

let table: Float32Array | undefined;
/** Per channel and byte value: ((u / 255) - mean) / std, each step rounded to float32 as torch does. */
function normalizationTable(): Float32Array {
  if (table) return table;
  const f = Math.fround;
  table = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = f(CLIP_MEAN[c]!);
    const std = f(CLIP_STD[c]!);
    // One float32 operation computed in double and rounded once is the exact float32 result
    // (double carries more than 2 * 24 + 2 bits), so this equals torch's float32 kernels.
    for (let u = 0; u < 256; u++) table[c * 256 + u] = f(f(f(u / 255) - mean) / std);
  }
  return table;
}

/** ToTensor + Normalize(CLIP) of interleaved RGB (width x height) into CHW float32. */
export function normalizeClip(rgb: Uint8Array, width: number, height: number, out?: Float32Array): Float32Array {
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

/** Decoded RGB at native resolution -> UFD input tensor [3, 224, 224] float32 (CHW). */
export function preprocessUfd(image: RgbImage, out?: Float32Array): Float32Array {
  return normalizeClip(centerCrop(image), INPUT_SIZE, INPUT_SIZE, out);
}
