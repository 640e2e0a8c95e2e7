"""An independent check of the Keras -> PyTorch conversion: MesoNet evaluated in numpy (float64) straight from
the HDF5 arrays, in Keras' own layout and semantics (NHWC, kernels (kh, kw, in, out), TensorFlow 'same'
padding computed per layer for convolutions and pooling, BatchNorm epsilon 1e-3, Flatten of NHWC, Dense
(in, out)). It shares nothing with mesonet_reference.py except the h5py reading of the arrays.

  keras_numpy_reference.py WEIGHTS.h5 face1.png [face2.jpg ...]    -> JSON with the logit of P(real) and of
                                                                      P(fake) per 256x256 face crop
  (images that are not 256x256 are resized with PIL NEAREST, as Keras' flow_from_directory does)
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mesonet_reference import read_keras_h5  # noqa: E402  (reads arrays only)

EPS = 1e-3


def same_pads(n: int, k: int, s: int, d: int):
    eff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + eff - n, 0)
    return total // 2, total - total // 2, out


def conv2d_same(x, kernel, bias, dilation=1):
    """x: (H, W, C) float64; kernel (kh, kw, C, O); stride 1; TF 'same'."""
    h, w, c = x.shape
    kh, kw, _, o = kernel.shape
    top, bottom, oh = same_pads(h, kh, 1, dilation)
    left, right, ow = same_pads(w, kw, 1, dilation)
    xp = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    out = np.zeros((oh, ow, o))
    for i in range(kh):
        for j in range(kw):
            patch = xp[i * dilation:i * dilation + oh, j * dilation:j * dilation + ow, :]
            out += (patch.reshape(-1, c) @ kernel[i, j].astype(np.float64)).reshape(oh, ow, o)
    return out + bias.astype(np.float64)


def maxpool_same(x, pool):
    h, w, c = x.shape
    top, bottom, oh = same_pads(h, pool, pool, 1)
    left, right, ow = same_pads(w, pool, pool, 1)
    xp = np.pad(x, ((top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    return xp[:oh * pool, :ow * pool].reshape(oh, pool, ow, pool, c).max(axis=(1, 3))


def batchnorm(x, gamma, beta, mean, var):
    return (x - mean) / np.sqrt(var.astype(np.float64) + EPS) * gamma + beta


def relu(x):
    return np.maximum(x, 0.0)


class Weights:
    def __init__(self, path):
        self.layers = read_keras_h5(path)
        self.counters = {}

    def _ordered(self, kind):
        names = [n for n in self.layers if re.fullmatch(rf"{kind}_\d+", n) and self.layers[n]]
        return sorted(names, key=lambda n: int(n.rsplit("_", 1)[1]))

    def next(self, kind):
        """Arrays of the next layer of this kind in Keras creation order."""
        i = self.counters.get(kind, 0)
        self.counters[kind] = i + 1
        name = self._ordered(kind)[i]
        return {w.split("/")[-1].split(":")[0]: a.astype(np.float64) for w, a in self.layers[name]}

    def n(self, kind):
        return len(self._ordered(kind))


def conv(x, wts, dilation=1):
    p = wts.next("conv2d")
    return relu(conv2d_same(x, p["kernel"], p["bias"], dilation))


def bn(x, wts):
    p = wts.next("batch_normalization")
    return batchnorm(x, p["gamma"], p["beta"], p["moving_mean"], p["moving_variance"])


def inception(x, wts):
    x1 = conv(x, wts)
    x2 = conv(conv(x, wts), wts)
    x3 = conv(conv(x, wts), wts, 2)
    x4 = conv(conv(x, wts), wts, 3)
    return np.concatenate([x1, x2, x3, x4], axis=-1)


def forward(path, image_hwc01, meso4_hidden="leaky"):
    """Logit of P(real) (the Keras pre-sigmoid) for one HWC image in [0, 1]."""
    wts = Weights(path)
    x = image_hwc01.astype(np.float64)
    if wts.n("conv2d") == 16:
        x = maxpool_same(bn(inception(x, wts), wts), 2)
        x = maxpool_same(bn(inception(x, wts), wts), 2)
        hidden = "leaky"
    else:
        x = maxpool_same(bn(conv(x, wts), wts), 2)
        x = maxpool_same(bn(conv(x, wts), wts), 2)
        hidden = meso4_hidden
    x = maxpool_same(bn(conv(x, wts), wts), 2)
    x = maxpool_same(bn(conv(x, wts), wts), 4)
    y = x.reshape(-1)                                  # Flatten: NHWC order
    d1 = wts.next("dense")
    y = y @ d1["kernel"] + d1["bias"]
    if hidden == "leaky":
        y = np.where(y >= 0, y, 0.1 * y)
    elif hidden == "relu":
        y = relu(y)
    d2 = wts.next("dense")
    return float((y @ d2["kernel"] + d2["bias"])[0])


def load_face(path):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    if img.size != (256, 256):
        img = img.resize((256, 256), Image.NEAREST)
    return np.asarray(img, dtype=np.float64) / 255.0


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights")
    p.add_argument("images", nargs="+")
    p.add_argument("--meso4-hidden", default="leaky", choices=["leaky", "linear", "relu"])
    args = p.parse_args(argv)
    results = []
    for image in args.images:
        logit_real = forward(args.weights, load_face(image), args.meso4_hidden)
        p_real = 1.0 / (1.0 + np.exp(-logit_real))
        results.append({"file": image, "logitReal": logit_real, "logitFake": -logit_real,
                        "probabilityReal": float(p_real), "probabilityFake": float(1.0 - p_real)})
    print(json.dumps({"weights": args.weights, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
