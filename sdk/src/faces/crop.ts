// Face crops as video deepfake detectors take them.
//
// Cross-Efficient-ViT (davide-coccomini/Combining-EfficientNet-and-Vision-Transformers-for-Video-
// Deepfake-Detection, preprocessing/extract_crops.py and cross-efficient-vit/test.py):
//   * box corners truncated to integers; the shorter side is padded by int((long - short) / 2) on both
//     sides, so the crop is square (up to one pixel), with no further margin; the crop is clipped at the
//     image borders (so it is not square there);
//   * IsotropicResize(224): longer side to 224 (cv2 INTER_AREA when shrinking, INTER_CUBIC when
//     enlarging; the new sides are int()-truncated; an image whose longer side is already 224 is kept);
//   * PadIfNeeded(224, 224, BORDER_CONSTANT 0): centred, extra pixel at the bottom/right;
//   * cv2.imread order, so BGR, values 0..255, no normalisation, CHW.
// squareCropBox(box, w, h, 1) reproduces the first step exactly; scale > 1 adds a margin of
// (scale - 1) / 2 of the square's side on each side (other detectors crop with margins).
import { cropImage, resize, type Rect, type ResizeKernel, type RgbImage } from "./image.js";

/** Integer crop rectangle: the box made square around its centre, optionally enlarged, clipped to the image. */
export function squareCropBox(box: Rect, imageWidth: number, imageHeight: number, scale = 1): Rect {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`scale must be positive, got ${scale}`);
  const xmin = Math.trunc(box.x);
  const ymin = Math.trunc(box.y);
  const xmax = Math.trunc(box.x + box.width);
  const ymax = Math.trunc(box.y + box.height);
  const w = xmax - xmin;
  const h = ymax - ymin;
  let pw = h > w ? Math.trunc((h - w) / 2) : 0;
  let ph = w > h ? Math.trunc((w - h) / 2) : 0;
  if (scale !== 1) {
    const margin = Math.trunc((Math.max(w, h) * (scale - 1)) / 2);
    pw += margin;
    ph += margin;
  }
  const x0 = Math.min(Math.max(xmin - pw, 0), imageWidth);
  const y0 = Math.min(Math.max(ymin - ph, 0), imageHeight);
  const x1 = Math.min(Math.max(xmax + pw, 0), imageWidth);
  const y1 = Math.min(Math.max(ymax + ph, 0), imageHeight);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

/** The square face crop of an image (see squareCropBox); throws when the box lies outside the image. */
export function squareCrop(image: RgbImage, box: Rect, scale = 1): RgbImage {
  const rect = squareCropBox(box, image.width, image.height, scale);
  if (rect.width === 0 || rect.height === 0) {
    throw new RangeError(`face box ${JSON.stringify(box)} lies outside the ${image.width}x${image.height} image`);
  }
  return cropImage(image, rect);
}

export interface IsotropicResizeOptions {
  /** Kernel when shrinking (default "area", as upstream's cv2.INTER_AREA). */
  down?: ResizeKernel;
  /** Kernel when enlarging (default "cubic", as upstream's cv2.INTER_CUBIC). */
  up?: ResizeKernel;
}

/** Longer side to `size`, aspect kept, new sides truncated to integers (albumentations-style IsotropicResize). */
export function isotropicResize(image: RgbImage, size: number, options: IsotropicResizeOptions = {}): RgbImage {
  const { width: w, height: h } = image;
  if (Math.max(w, h) === size) return image;
  let nw: number;
  let nh: number;
  let scale: number;
  if (w > h) {
    scale = size / w;
    nh = h * scale;
    nw = size;
  } else {
    scale = size / h;
    nw = w * scale;
    nh = size;
  }
  const kernel = scale > 1 ? (options.up ?? "cubic") : (options.down ?? "area");
  return resize(image, Math.max(1, Math.trunc(nw)), Math.max(1, Math.trunc(nh)), kernel);
}

export interface PadOptions {
  /** "center" (albumentations PadIfNeeded: extra pixel at the bottom/right) or "top-left". */
  position?: "center" | "top-left";
  /** Fill value for all three channels (default 0). */
  value?: number;
}

/** Pad (never crop) to at least width x height. */
export function padTo(image: RgbImage, width: number, height: number, options: PadOptions = {}): RgbImage {
  const outW = Math.max(width, image.width);
  const outH = Math.max(height, image.height);
  if (outW === image.width && outH === image.height) return image;
  const center = (options.position ?? "center") === "center";
  const left = center ? Math.trunc((outW - image.width) / 2) : 0;
  const top = center ? Math.trunc((outH - image.height) / 2) : 0;
  const out = new Uint8Array(outW * outH * 3).fill(options.value ?? 0);
  for (let r = 0; r < image.height; r++) {
    const from = r * image.width * 3;
    out.set(image.data.subarray(from, from + image.width * 3), ((top + r) * outW + left) * 3);
  }
  return { data: out, width: outW, height: outH };
}

export interface FaceTensorOptions extends IsotropicResizeOptions, PadOptions {
  /** Square side of the network input (Cross-Efficient-ViT: 224). */
  size: number;
  /** Channel order of the tensor (Cross-Efficient-ViT: "bgr"). */
  channels?: "rgb" | "bgr";
  /** Layout (default "chw"). */
  layout?: "chw" | "hwc";
  /** value' = (value * scale - mean[c]) / std[c], channel order as in `channels`. Defaults: 1, 0, 1 (raw 0..255). */
  scale?: number;
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}

/** Image (RGB HWC) to a float32 tensor of one image, without the batch axis. */
export function toTensor(
  image: RgbImage,
  options: Pick<FaceTensorOptions, "channels" | "layout" | "scale" | "mean" | "std"> = {},
): Float32Array {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  const order = options.channels === "bgr" ? [2, 1, 0] : [0, 1, 2];
  const scale = options.scale ?? 1;
  const mean = options.mean ?? [0, 0, 0];
  const std = options.std ?? [1, 1, 1];
  const chw = (options.layout ?? "chw") === "chw";
  for (let c = 0; c < 3; c++) {
    const src = order[c]!;
    const m = mean[c]!;
    const s = std[c]!;
    for (let p = 0; p < plane; p++) {
      const v = (data[p * 3 + src]! * scale - m) / s;
      if (chw) out[c * plane + p] = v;
      else out[p * 3 + c] = v;
    }
  }
  return out;
}

/** Square crop -> isotropic resize -> pad -> tensor, as Cross-Efficient-ViT prepares each face. */
export function faceTensor(image: RgbImage, box: Rect, options: FaceTensorOptions & { cropScale?: number }): Float32Array {
  const crop = squareCrop(image, box, options.cropScale ?? 1);
  const resized = isotropicResize(crop, options.size, options);
  const padded = padTo(resized, options.size, options.size, options);
  return toTensor(padded, options);
}
