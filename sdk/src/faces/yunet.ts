// Shared face detector: YuNet (Wu, Peng, Yu, "YuNet: A Tiny Millisecond-level Face Detector", Machine
// Intelligence Research 2023), the official yunet_n_dynamic.onnx of ShiqiYu/libfacedetection.train
// (Apache-2.0) on onnxruntime-node. Pre- and post-processing follow that repository's
// tools/compare_inference.py (class YUNET, resize_img, OpenCV NMSBoxes); our PyTorch reference of the
// same pipeline is sdk/python/yunet_reference.py.
//
//   input  "input" float32 [1, 3, H, W], BGR 0..255 (no mean/std), H and W multiples of 32
//   output cls_s, obj_s [1, N, 1] (sigmoid applied in the graph), bbox_s [1, N, 4], kps_s [1, N, 10]
//          for strides s = 8, 16, 32, N = (H/s)·(W/s), row-major grid
//   score  = cls · obj;  centre = (bbox[0:2] + grid)·s;  size = exp(bbox[2:4])·s;  landmark k = (kps[2k:2k+2] + grid)·s
import * as ort from "onnxruntime-node";
import { resizeLinear, type Rect, type RgbImage } from "./image.js";

export const YUNET_STRIDES = [8, 16, 32] as const;
export const YUNET_LANDMARKS = 5;
const INPUT_NAME = "input";
const OUTPUTS = ["cls", "obj", "bbox", "kps"].flatMap((k) => YUNET_STRIDES.map((s) => `${k}_${s}`));

export interface Point {
  x: number;
  y: number;
}

export interface Face {
  /** In the pixels of the image given to detect(); may extend past its borders. */
  box: Rect;
  /** cls · obj, in [0, 1]. */
  score: number;
  /** Five points in image coordinates: the eye on the image's left, the other eye, nose tip, left and right mouth corners. */
  landmarks?: Point[];
}

export interface FaceDetectorOptions {
  /** Keep candidates with score > this (default 0.6; upstream's evaluation uses 0.02, its demo 0.5). */
  scoreThreshold?: number;
  /** IoU above which the weaker of two boxes is dropped (default 0.45, upstream's default). */
  nmsThreshold?: number;
  /**
   * Network input. [long, short] (default [640, 480], upstream's "VGA" mode): the image is scaled to fit
   * a long x short canvas (short x long for portrait and square images), placed top-left, zero padded.
   * "auto": no resize, zero padding bottom/right to a multiple of 32.
   */
  inputSize?: readonly [number, number] | "auto";
  /** Candidates considered by NMS, best first (default 5000, as upstream). */
  topK?: number;
}

export const DEFAULT_FACE_DETECTOR_OPTIONS: Required<FaceDetectorOptions> = {
  scoreThreshold: 0.6,
  nmsThreshold: 0.45,
  inputSize: [640, 480],
  topK: 5000,
};

export interface Letterboxed {
  /** [1, 3, height, width], BGR 0..255. */
  tensor: Float32Array;
  width: number;
  height: number;
  /** network pixels per image pixel */
  scale: number;
}

/** upstream resize_img(): fit into the canvas keeping the aspect ratio, top-left, zero padding; BGR CHW float. */
export function letterbox(image: RgbImage, inputSize: FaceDetectorOptions["inputSize"] = [640, 480]): Letterboxed {
  const { width: w, height: h } = image;
  let inW: number;
  let inH: number;
  let placed: RgbImage;
  let scale: number;
  if (inputSize === "auto") {
    inH = ((h - 1) & -32) + 32;
    inW = ((w - 1) & -32) + 32;
    placed = image;
    scale = 1;
  } else {
    const big = Math.max(inputSize[0], inputSize[1]);
    const small = Math.min(inputSize[0], inputSize[1]);
    if (big % 32 || small % 32 || small <= 0) throw new RangeError(`input size must be multiples of 32, got ${inputSize.join("x")}`);
    [inW, inH] = w > h ? [big, small] : [small, big];
    const imRatio = h / w;
    const modelRatio = inH / inW;
    let newW: number;
    let newH: number;
    if (imRatio > modelRatio) {
      newH = inH;
      newW = Math.trunc(newH / imRatio);
    } else {
      newW = inW;
      newH = Math.trunc(newW * imRatio);
    }
    newW = Math.max(1, newW);
    newH = Math.max(1, newH);
    scale = newH / h;
    placed = newW === w && newH === h ? image : resizeLinear(image, newW, newH);
  }
  const plane = inW * inH;
  const tensor = new Float32Array(3 * plane);
  const { data, width: pw, height: ph } = placed;
  for (let y = 0; y < ph; y++) {
    for (let x = 0; x < pw; x++) {
      const p = (y * pw + x) * 3;
      const q = y * inW + x;
      tensor[q] = data[p + 2]!; // B
      tensor[plane + q] = data[p + 1]!; // G
      tensor[2 * plane + q] = data[p]!; // R
    }
  }
  return { tensor, width: inW, height: inH, scale };
}

/** IoU of two (x, y, width, height) boxes as OpenCV's Rect2d: areas w·h, no +1. */
export function iou(a: Rect, b: Rect): number {
  const iw = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const ih = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const inter = iw > 0 && ih > 0 ? iw * ih : 0;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** cv2.dnn.NMSBoxes (score_threshold 0, eta 1): indices kept, best first. */
export function nmsBoxes(boxes: Rect[], scores: number[], threshold: number, topK = 5000): number[] {
  const order = scores.map((_, i) => i).filter((i) => scores[i]! > 0);
  order.sort((a, b) => scores[b]! - scores[a]!); // stable, as OpenCV's stable_sort
  const kept: number[] = [];
  for (const i of order.slice(0, topK)) {
    if (kept.every((j) => iou(boxes[i]!, boxes[j]!) <= threshold)) kept.push(i);
  }
  return kept;
}

export type YunetOutputs = Record<string, Float32Array>;

/** Decode the 12 raw outputs (see the file header) into faces in image pixels, then NMS. */
export function decodeYunet(
  outputs: YunetOutputs,
  inputWidth: number,
  inputHeight: number,
  scale: number,
  options: Pick<FaceDetectorOptions, "scoreThreshold" | "nmsThreshold" | "topK"> = {},
): Face[] {
  const threshold = options.scoreThreshold ?? DEFAULT_FACE_DETECTOR_OPTIONS.scoreThreshold;
  const boxes: Rect[] = [];
  const scores: number[] = [];
  const landmarks: Point[][] = [];
  for (const s of YUNET_STRIDES) {
    const cls = outputs[`cls_${s}`]!;
    const obj = outputs[`obj_${s}`]!;
    const reg = outputs[`bbox_${s}`]!;
    const kps = outputs[`kps_${s}`]!;
    const cols = Math.floor(inputWidth / s);
    const n = cols * Math.floor(inputHeight / s);
    if (cls.length !== n || obj.length !== n || reg.length !== 4 * n || kps.length !== 2 * YUNET_LANDMARKS * n) {
      throw new Error(`YuNet outputs for stride ${s} do not match a ${inputWidth}x${inputHeight} input`);
    }
    for (let i = 0; i < n; i++) {
      const score = cls[i]! * obj[i]!;
      if (!(score > threshold)) continue;
      const gx = i % cols;
      const gy = Math.floor(i / cols);
      const cx = (reg[4 * i]! + gx) * s;
      const cy = (reg[4 * i + 1]! + gy) * s;
      const bw = Math.exp(reg[4 * i + 2]!) * s;
      const bh = Math.exp(reg[4 * i + 3]!) * s;
      const x1 = (cx - bw / 2) / scale;
      const y1 = (cy - bh / 2) / scale;
      const x2 = (cx + bw / 2) / scale;
      const y2 = (cy + bh / 2) / scale;
      boxes.push({ x: x1, y: y1, width: x2 - x1, height: y2 - y1 });
      scores.push(score);
      const points: Point[] = [];
      for (let k = 0; k < YUNET_LANDMARKS; k++) {
        const o = 2 * YUNET_LANDMARKS * i + 2 * k;
        points.push({ x: ((kps[o]! + gx) * s) / scale, y: ((kps[o + 1]! + gy) * s) / scale });
      }
      landmarks.push(points);
    }
  }
  const kept = nmsBoxes(boxes, scores, options.nmsThreshold ?? DEFAULT_FACE_DETECTOR_OPTIONS.nmsThreshold, options.topK);
  return kept.map((i) => ({ box: boxes[i]!, score: scores[i]!, landmarks: landmarks[i]! }));
}

export class FaceDetector {
  readonly options: Required<FaceDetectorOptions>;

  private constructor(
    private readonly session: ort.InferenceSession,
    options: FaceDetectorOptions,
  ) {
    this.options = { ...DEFAULT_FACE_DETECTOR_OPTIONS, ...options };
  }

  /** Open a YuNet ONNX graph (prepareFaceDetector() puts it at modelDir("face-detector")/model.onnx). */
  static async load(onnxPath: string, threads = 1, options: FaceDetectorOptions = {}): Promise<FaceDetector> {
    const session = await ort.InferenceSession.create(onnxPath, {
      executionProviders: ["cpu"],
      intraOpNumThreads: Math.max(1, Math.floor(threads)),
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
    });
    const missing = [INPUT_NAME, ...OUTPUTS].filter((n) => !session.inputNames.includes(n) && !session.outputNames.includes(n));
    if (missing.length) {
      await session.release();
      throw new Error(`${onnxPath} is not a YuNet graph: missing ${missing.join(", ")}`);
    }
    return new FaceDetector(session, options);
  }

  /** Raw outputs for a letterboxed input (for parity checks). */
  async run(input: Letterboxed): Promise<YunetOutputs> {
    const feeds = { [INPUT_NAME]: new ort.Tensor("float32", input.tensor, [1, 3, input.height, input.width]) };
    const result = await this.session.run(feeds);
    const out: YunetOutputs = {};
    for (const name of OUTPUTS) {
      const t = result[name];
      if (!t || t.type !== "float32") throw new Error(`YuNet output ${name} is missing or not float32`);
      out[name] = t.data as Float32Array;
    }
    return out;
  }

  /** Faces in an RGB image, best first. */
  async detect(image: RgbImage, options: FaceDetectorOptions = {}): Promise<Face[]> {
    const o = { ...this.options, ...options };
    if (image.data.length !== image.width * image.height * 3) {
      throw new RangeError(`not an RGB image: ${image.width}x${image.height} with ${image.data.length} bytes`);
    }
    const input = letterbox(image, o.inputSize);
    const outputs = await this.run(input);
    return decodeYunet(outputs, input.width, input.height, input.scale, o);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
