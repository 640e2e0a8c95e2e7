"""Face crop -> network input as Cross-Efficient-ViT prepares it, in numpy (float64, deterministic), for the
parity checks of our TypeScript pipeline (@deepsafe/sdk faces: squareCropBox, isotropicResize, padTo,
toTensor; the SDK documents the same float64 definitions).

Upstream (davide-coccomini/Combining-EfficientNet-and-Vision-Transformers-for-Video-Deepfake-Detection):
  preprocessing/extract_crops.py   box corners truncated to int; the shorter side padded by int((long-short)/2)
                                   on both sides (square up to one pixel, no margin); frame sliced with the
                                   start clipped at 0 (numpy clips the end); saved as PNG and read back with
                                   cv2.imread (BGR)
  cross-efficient-vit/test.py      IsotropicResize(224, INTER_AREA down, INTER_CUBIC up) then
                                   PadIfNeeded(224, 224, BORDER_CONSTANT -> zeros, centred), HWC -> CHW, float,
                                   no normalisation
Our resamplers evaluate cv2's INTER_AREA and INTER_CUBIC definitions in float64 and round half up (OpenCV's
fixed-point arithmetic can differ by one grey level).
"""
from __future__ import annotations

import math

import numpy as np

SIZE = 224


def square_crop_box(box: dict, image_w: int, image_h: int) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the square crop of a face box {x, y, width, height}, clipped to the image."""
    xmin, ymin = math.trunc(box["x"]), math.trunc(box["y"])
    xmax, ymax = math.trunc(box["x"] + box["width"]), math.trunc(box["y"] + box["height"])
    w, h = xmax - xmin, ymax - ymin
    pw = math.trunc((h - w) / 2) if h > w else 0
    ph = math.trunc((w - h) / 2) if w > h else 0
    x0 = min(max(xmin - pw, 0), image_w)
    y0 = min(max(ymin - ph, 0), image_h)
    x1 = min(max(xmax + pw, 0), image_w)
    y1 = min(max(ymax + ph, 0), image_h)
    return x0, y0, max(0, x1 - x0), max(0, y1 - y0)


def _to_byte(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0, 0, np.where(v >= 255, 255, np.floor(v + 0.5))).astype(np.uint8)


def _area_taps(dst: int, src: int):
    scale = src / dst
    starts, weights = [], []
    for d in range(dst):
        a = d * scale
        b = min((d + 1) * scale, src)
        first = math.floor(a)
        last = min(math.ceil(b), src)
        w = [0.0] * max(1, last - first)
        for s in range(first, last):
            w[s - first] = (min(b, s + 1) - max(a, s)) / scale
        starts.append(first)
        weights.append(w)
    n = max(len(w) for w in weights)
    table = np.zeros((dst, n), dtype=np.float64)
    for d, w in enumerate(weights):
        table[d, : len(w)] = w
    return np.array(starts, dtype=np.int64), table


def resize_area(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """cv2 INTER_AREA for shrinking: every source pixel weighted by its overlap with the destination cell.
    Accumulated per pixel in the same order as the TypeScript (rows, then columns; zero-weight padding taps
    add exact zeros)."""
    sh, sw = img.shape[:2]
    if width > sw or height > sh:
        raise ValueError("resize_area only shrinks")
    x0, wx = _area_taps(width, sw)
    y0, wy = _area_taps(height, sh)
    src = img.astype(np.float64)
    acc = np.zeros((height, width, 3), dtype=np.float64)
    for j in range(wy.shape[1]):
        rows = np.minimum(y0 + j, sh - 1)
        for i in range(wx.shape[1]):
            cols = np.minimum(x0 + i, sw - 1)
            w = wy[:, j][:, None] * wx[:, i][None, :]
            acc = acc + w[:, :, None] * src[rows][:, cols]
    return _to_byte(acc)


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    a = -0.75
    w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    w3 = 1 - w0 - w1 - w2
    return np.stack([w0, w1, w2, w3], axis=1)


def _cubic_taps(dst: int, size: int):
    scale = size / dst
    f = (np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5
    s = np.floor(f)
    idx = np.clip(s[:, None].astype(np.int64) + np.arange(-1, 3)[None, :], 0, size - 1)
    return idx, _cubic_weights(f - s)


def resize_cubic(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """cv2 INTER_CUBIC geometry (half-pixel centres, a = -0.75, replicated borders): a horizontal pass into
    float rows, then a vertical pass, rounded once."""
    sh, sw = img.shape[:2]
    xi, xw = _cubic_taps(width, sw)
    yi, yw = _cubic_taps(height, sh)
    src = img.astype(np.float64)
    rows = np.zeros((sh, width, 3), dtype=np.float64)
    for k in range(4):
        rows = rows + xw[:, k][None, :, None] * src[:, xi[:, k], :]
    out = np.zeros((height, width, 3), dtype=np.float64)
    for k in range(4):
        out = out + yw[:, k][:, None, None] * rows[yi[:, k], :, :]
    return _to_byte(out)


def isotropic_resize(img: np.ndarray, size: int = SIZE) -> np.ndarray:
    h, w = img.shape[:2]
    if max(w, h) == size:
        return img
    if w > h:
        scale = size / w
        nh, nw = h * scale, size
    else:
        scale = size / h
        nw, nh = w * scale, size
    nw, nh = max(1, math.trunc(nw)), max(1, math.trunc(nh))
    if nw == w and nh == h:
        return img.copy()
    return resize_cubic(img, nw, nh) if scale > 1 else resize_area(img, nw, nh)


def pad_center(img: np.ndarray, size: int = SIZE) -> np.ndarray:
    h, w = img.shape[:2]
    out_h, out_w = max(size, h), max(size, w)
    top, left = (out_h - h) // 2, (out_w - w) // 2
    out = np.zeros((out_h, out_w, 3), dtype=np.uint8)
    out[top : top + h, left : left + w] = img
    return out


def face_tensor(frame_rgb: np.ndarray, box: dict) -> np.ndarray:
    """RGB HWC uint8 frame + face box -> float32 [3, 224, 224], BGR, 0..255."""
    x, y, w, h = square_crop_box(box, frame_rgb.shape[1], frame_rgb.shape[0])
    if w == 0 or h == 0:
        raise ValueError(f"face box {box} lies outside the frame")
    crop = frame_rgb[y : y + h, x : x + w]
    padded = pad_center(isotropic_resize(crop))
    return np.ascontiguousarray(padded[:, :, ::-1].transpose(2, 0, 1)).astype(np.float32)
