// Shared face detection for image and video detectors: YuNet on onnxruntime-node, face crops as
// Cross-Efficient-ViT takes them, and an IoU tracker across video frames.
export {
  FaceDetector,
  DEFAULT_FACE_DETECTOR_OPTIONS,
  YUNET_STRIDES,
  YUNET_LANDMARKS,
  letterbox,
  decodeYunet,
  nmsBoxes,
  iou,
  type Face,
  type Point,
  type FaceDetectorOptions,
  type Letterboxed,
  type YunetOutputs,
} from "./yunet.js";
export {
  squareCropBox,
  squareCrop,
  isotropicResize,
  padTo,
  toTensor,
  faceTensor,
  type IsotropicResizeOptions,
  type PadOptions,
  type FaceTensorOptions,
} from "./crop.js";
export { resize, resizeLinear, resizeArea, resizeCubic, cropImage, type RgbImage, type Rect, type ResizeKernel } from "./image.js";
export { trackFaces, type FaceTrack, type TrackedFace, type TrackOptions } from "./track.js";
export {
  prepareFaceDetector,
  loadFaceDetector,
  faceDetectorWeights,
  faceDetectorGraph,
  FACE_DETECTOR_MODEL,
  type PrepareFaceDetectorOptions,
  type PreparedFaceDetector,
  type WeightsEntry,
} from "./prepare.js";
