#!/usr/bin/env python3
"""Reference face detection with YuNet in PyTorch: the parity oracle for sdk/src/faces/yunet.ts.

Written for DeepSafe from reading ShiqiYu/libfacedetection.train at 0047ac24 (Apache-2.0):
the network from mmdet/models/{backbones/yunet_backbone.py, necks/tfpn.py, dense_heads/yunet_head.py,
utils/yunet_layer.py} with configs/yunet_n.py, loaded from the official weights/yunet_n.pth; the pre- and
post-processing from tools/compare_inference.py (class YUNET, resize_img, nms with OpenCV's NMSBoxes).

It does not run the ONNX graph: the network here is PyTorch, the TypeScript side runs the official
ONNX export under onnxruntime-node, so the comparison checks the graph, the letterbox, the decoding
and the NMS at once.

Pipeline (identical in yunet.ts):
  * RGB 8-bit image -> BGR, values 0..255, no mean/std (img_norm_cfg mean 0, std 1, to_rgb False).
  * letterbox ("W,H" mode of resize_img): the input is W x H for landscape images and H x W otherwise
    (W >= H); the image is scaled to fit (new side = int(...), as upstream), placed top-left, zero pad.
    upstream resizes with cv2.resize INTER_LINEAR; here the same geometry (half-pixel centres, clamped
    borders) is computed in float64 and rounded half up, because cv2's 11-bit fixed point is not
    reproducible outside OpenCV (differences are at most one grey level).
    "auto" mode: no resize, zero pad bottom/right to a multiple of 32.
  * per stride s in (8, 16, 32): score = sigmoid(cls) * sigmoid(obj); centre = (reg[0:2] + grid) * s,
    size = exp(reg[2:4]) * s; landmarks k = (kps[2k:2k+2] + grid) * s; keep score > threshold.
  * divide boxes and landmarks by the letterbox scale; NMS as cv2.dnn.NMSBoxes: stable sort by score
    (descending), keep a box when its IoU (w*h areas, no +1) with every kept box is <= the NMS threshold,
    at most top_k (5000) candidates.

Usage: yunet_reference.py --checkpoint yunet_n.pth [--input-size 640,480 | --input-size auto]
       [--score 0.5] [--nms 0.45] [--dump-dir DIR] image.png [...]  -> JSON on stdout
"""
import argparse
import json
import os
import pickle
import sys
import time
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

STRIDES = (8, 16, 32)
NUM_KPS = 5

# --------------------------------------------------------------------------------------------- model


class ConvDPUnit(nn.Module):
    """1x1 conv, depthwise 3x3 conv, then optionally BN + ReLU."""

    def __init__(self, cin, cout, with_bn_relu=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 1, 1, 0, bias=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=True, groups=cout)
        self.with_bn_relu = with_bn_relu
        if with_bn_relu:
            self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = self.conv2(self.conv1(x))
        if self.with_bn_relu:
            x = F.relu(self.bn(x))
        return x


class ConvHead(nn.Module):
    """Stem: 3x3 stride-2 conv + BN + ReLU, then one ConvDPUnit."""

    def __init__(self, cin, cmid, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cmid, 3, 2, 1, bias=True)
        self.bn1 = nn.BatchNorm2d(cmid)
        self.conv2 = ConvDPUnit(cmid, cout, True)

    def forward(self, x):
        return self.conv2(F.relu(self.bn1(self.conv1(x))))


class Conv4LayerBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = ConvDPUnit(cin, cin, True)
        self.conv2 = ConvDPUnit(cin, cout, True)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class Backbone(nn.Module):
    # configs/yunet_n.py
    STAGES = [[3, 16, 16], [16, 64], [64, 64], [64, 64], [64, 64], [64, 64]]
    DOWNSAMPLE = (0, 2, 3, 4)
    OUT = (3, 4, 5)

    def __init__(self):
        super().__init__()
        self.model0 = ConvHead(*self.STAGES[0])
        for i in range(1, len(self.STAGES)):
            self.add_module(f"model{i}", Conv4LayerBlock(*self.STAGES[i]))

    def forward(self, x):
        outs = []
        for i in range(len(self.STAGES)):
            x = getattr(self, f"model{i}")(x)
            if i in self.OUT:
                outs.append(x)
            if i in self.DOWNSAMPLE:
                x = F.max_pool2d(x, 2)
        return outs


class TFPN(nn.Module):
    """Top-down path: each coarser level (after its lateral unit) is upsampled x2 and added."""

    def __init__(self, channels=(64, 64, 64)):
        super().__init__()
        self.lateral_convs = nn.ModuleList([ConvDPUnit(c, c, True) for c in channels])

    def forward(self, feats):
        feats = list(feats)
        for i in range(len(feats) - 1, 0, -1):
            feats[i] = self.lateral_convs[i](feats[i])
            feats[i - 1] = feats[i - 1] + F.interpolate(feats[i], scale_factor=2.0, mode="nearest")
        feats[0] = self.lateral_convs[0](feats[0])
        return feats


class Head(nn.Module):
    """One shared ConvDPUnit per level, then cls / bbox / obj / kps units without BN."""

    def __init__(self, channels=64):
        super().__init__()
        levels = range(len(STRIDES))
        self.multi_level_share_convs = nn.ModuleList([nn.Sequential(ConvDPUnit(channels, channels)) for _ in levels])
        self.multi_level_cls = nn.ModuleList([ConvDPUnit(channels, 1, False) for _ in levels])
        self.multi_level_bbox = nn.ModuleList([ConvDPUnit(channels, 4, False) for _ in levels])
        self.multi_level_obj = nn.ModuleList([ConvDPUnit(channels, 1, False) for _ in levels])
        self.multi_level_kps = nn.ModuleList([ConvDPUnit(channels, NUM_KPS * 2, False) for _ in levels])

    def forward(self, feats):
        feats = [conv(f) for f, conv in zip(feats, self.multi_level_share_convs)]

        def flat(maps, n):
            # (1, n, h, w) -> (h*w, n): row-major grid, as the ONNX export's permute + view
            return [m.permute(0, 2, 3, 1).reshape(-1, n) for m in maps]

        cls = flat([c(f) for f, c in zip(feats, self.multi_level_cls)], 1)
        obj = flat([c(f) for f, c in zip(feats, self.multi_level_obj)], 1)
        bbox = flat([c(f) for f, c in zip(feats, self.multi_level_bbox)], 4)
        kps = flat([c(f) for f, c in zip(feats, self.multi_level_kps)], NUM_KPS * 2)
        return [torch.sigmoid(c) for c in cls], [torch.sigmoid(o) for o in obj], bbox, kps


class YuNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Backbone()
        self.neck = TFPN()
        self.bbox_head = Head()

    def forward(self, x):
        return self.bbox_head(self.neck(self.backbone(x)))


_ALLOWED = {
    ("collections", "OrderedDict"),
    ("torch", "FloatStorage"),
    ("torch", "LongStorage"),
    ("torch._utils", "_rebuild_tensor_v2"),
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the checkpoint")
        return super().find_class(module, name)


def load_checkpoint(path):
    """weights_only=True where this torch can (1.13 rejects the BINFLOAT opcode in mmcv's meta);
    otherwise an unpickler that resolves only tensor-rebuilding globals, so no code can run."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        restricted = types.SimpleNamespace(Unpickler=_RestrictedUnpickler, load=None, __name__="restricted_pickle")
        ckpt = torch.load(path, map_location="cpu", pickle_module=restricted)
    state = ckpt.get("state_dict", ckpt)
    model = YuNet()
    missing, unexpected = model.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"checkpoint does not fit YuNet-n: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()


# ------------------------------------------------------------------------------------- preprocessing


def resize_bilinear(img, new_w, new_h):
    """cv2.resize INTER_LINEAR geometry in float64, rounded half up to uint8 (img: HxWxC uint8)."""
    h, w = img.shape[:2]
    src = img.astype(np.float64)

    def axis(dst, size):
        scale = size / dst
        f = (np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5
        i0 = np.floor(f)
        frac = f - i0
        i0 = i0.astype(np.int64)
        low = i0 < 0
        frac[low] = 0.0
        i0[low] = 0
        high = i0 >= size - 1
        frac[high] = 0.0
        i0[high] = size - 1
        i1 = np.minimum(i0 + 1, size - 1)
        return i0, i1, frac

    x0, x1, fx = axis(new_w, w)
    y0, y1, fy = axis(new_h, h)
    fx = fx[None, :, None]
    rows0 = src[y0]
    rows1 = src[y1]
    top = (1.0 - fx) * rows0[:, x0] + fx * rows0[:, x1]
    bottom = (1.0 - fx) * rows1[:, x0] + fx * rows1[:, x1]
    fy = fy[:, None, None]
    out = (1.0 - fy) * top + fy * bottom
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def letterbox(img, input_size):
    """resize_img from compare_inference.py; returns (padded HxWx3 uint8, scale)."""
    h, w = img.shape[:2]
    if input_size == "auto":
        ah = ((h - 1) & -32) + 32
        aw = ((w - 1) & -32) + 32
        out = np.zeros((ah, aw, 3), np.uint8)
        out[:h, :w] = img
        return out, 1.0
    big, small = max(input_size), min(input_size)
    in_w, in_h = (big, small) if w > h else (small, big)
    im_ratio = float(h) / w
    model_ratio = float(in_h) / in_w
    if im_ratio > model_ratio:
        new_h = in_h
        new_w = int(new_h / im_ratio)
    else:
        new_w = in_w
        new_h = int(new_w * im_ratio)
    scale = float(new_h) / h
    out = np.zeros((in_h, in_w, 3), np.uint8)
    out[:new_h, :new_w] = resize_bilinear(img, new_w, new_h)
    return out, scale


# ------------------------------------------------------------------------------------ postprocessing


def nms_boxes(boxes, scores, threshold, top_k=5000):
    """cv2.dnn.NMSBoxes on Rect2d (x, y, w, h), score_threshold 0, eta 1."""
    order = [i for i in range(len(scores)) if scores[i] > 0]
    order.sort(key=lambda i: -scores[i])  # Python's sort is stable, as OpenCV's stable_sort
    order = order[:top_k]
    kept = []
    for i in order:
        xi, yi, wi, hi = boxes[i]
        keep = True
        for j in kept:
            xj, yj, wj, hj = boxes[j]
            iw = min(xi + wi, xj + wj) - max(xi, xj)
            ih = min(yi + hi, yj + hj) - max(yi, yj)
            inter = iw * ih if iw > 0 and ih > 0 else 0.0
            union = wi * hi + wj * hj - inter
            iou = inter / union if union > 0 else 0.0
            if iou > threshold:
                keep = False
                break
        if keep:
            kept.append(i)
    return kept


def detect(model, rgb, input_size, score_threshold, nms_threshold, dump_dir=None, name="image"):
    det_img, scale = letterbox(rgb, input_size)
    bgr = det_img[:, :, ::-1]
    in_h, in_w = bgr.shape[:2]
    blob = torch.from_numpy(np.ascontiguousarray(bgr.transpose(2, 0, 1)).astype(np.float32)[None])
    t0 = time.perf_counter()
    with torch.no_grad():
        cls, obj, bbox, kps = model(blob)
    infer_ms = (time.perf_counter() - t0) * 1000
    if dump_dir:
        raw = {"input": blob.numpy()}
        for level, s in enumerate(STRIDES):
            raw[f"cls_{s}"] = cls[level].numpy()
            raw[f"obj_{s}"] = obj[level].numpy()
            raw[f"bbox_{s}"] = bbox[level].numpy()
            raw[f"kps_{s}"] = kps[level].numpy()
        for key, arr in raw.items():
            np.ascontiguousarray(arr, dtype="<f4").tofile(os.path.join(dump_dir, f"{name}.{key}.f32"))

    boxes, scores, landmarks = [], [], []
    for level, s in enumerate(STRIDES):
        c = cls[level].numpy().astype(np.float64).reshape(-1)
        o = obj[level].numpy().astype(np.float64).reshape(-1)
        r = bbox[level].numpy().astype(np.float64)
        k = kps[level].numpy().astype(np.float64)
        cols = in_w // s
        for idx in np.nonzero(c * o > score_threshold)[0]:
            score = float(c[idx] * o[idx])
            gx, gy = idx % cols, idx // cols
            cx = (r[idx, 0] + gx) * s
            cy = (r[idx, 1] + gy) * s
            bw = np.exp(r[idx, 2]) * s
            bh = np.exp(r[idx, 3]) * s
            x1 = (cx - bw / 2) / scale
            y1 = (cy - bh / 2) / scale
            x2 = (cx + bw / 2) / scale
            y2 = (cy + bh / 2) / scale
            boxes.append((x1, y1, x2 - x1, y2 - y1))
            scores.append(score)
            landmarks.append([((k[idx, 2 * j] + gx) * s / scale, (k[idx, 2 * j + 1] + gy) * s / scale) for j in range(NUM_KPS)])
    kept = nms_boxes(boxes, scores, nms_threshold)
    faces = [
        {
            "box": dict(zip(("x", "y", "width", "height"), map(float, boxes[i]))),
            "score": scores[i],
            "landmarks": [{"x": float(x), "y": float(y)} for x, y in landmarks[i]],
        }
        for i in kept
    ]
    return {"inputWidth": in_w, "inputHeight": in_h, "scale": scale, "candidates": len(boxes), "faces": faces, "inferMs": infer_ms}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--input-size", default="640,480")
    ap.add_argument("--score", type=float, default=0.5)
    ap.add_argument("--nms", type=float, default=0.45)
    ap.add_argument("--dump-dir", default=None, help="write the network input and raw outputs as little-endian float32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("images", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    size = "auto" if args.input_size == "auto" else tuple(int(v) for v in args.input_size.split(","))
    model = load_checkpoint(args.checkpoint)
    if args.dump_dir:
        os.makedirs(args.dump_dir, exist_ok=True)
    results = []
    for path in args.images:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        name = os.path.splitext(os.path.basename(path))[0]
        res = detect(model, rgb, size, args.score, args.nms, args.dump_dir, name)
        res.update(file=path, width=int(rgb.shape[1]), height=int(rgb.shape[0]))
        results.append(res)
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
