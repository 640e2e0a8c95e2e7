"""PyTorch reference of Meso4 and MesoInception4 (Afchar, Nozick, Yamagishi, Echizen, "MesoNet: a Compact
Facial Video Forgery Detection Network", WIFS 2018, arXiv:1809.00888), written for DeepSafe from the paper and
the authors' Keras definition (DariusAf/MesoNet@2144d56, classifiers.py), plus a loader for the published
Keras 2.1.5 weights-only HDF5 files that reads them with h5py (plain arrays, no code execution).

Keras semantics kept here:
  * NHWC in Keras, NCHW here: kernels (kh, kw, in, out) -> (out, in, kh, kw); Dense (in, out) -> (out, in);
    Flatten happens in NHWC order, so the 16x8x8 feature map is permuted to 8x8x16 before flattening.
  * padding='same' (TF rule: total = max((ceil(n/s)-1)*s + (k-1)*d + 1 - n, 0), the extra pixel of an odd
    total at the bottom/right), for convolutions and pooling. Every convolution here is odd-sized with stride 1,
    so the padding is symmetric; every pooling divides its input exactly, so it pads nothing (both asserted).
  * Conv -> ReLU -> BatchNorm (epsilon 1e-3, the Keras default) -> MaxPool, in that order.
  * Dropout is identity at inference.
  * the last Dense has a sigmoid in Keras whose value is P(REAL) (training folders df=0, real=1). forward()
    returns the pre-sigmoid value, i.e. the logit of P(real); FakeLogit wraps a model to return its negation,
    the logit of P(fake), which is what the ONNX export emits.

Meso4's hidden Dense(16) activation: classifiers.py applies LeakyReLU(0.1) after it, but the published Meso4
HDF5 files list no leaky_re_lu layer (MesoInception's do), so the saved Meso4 model had no separate activation
layer. The weights-only file cannot tell which function, if any, was applied; `meso4_hidden` selects it
(default "leaky", as classifiers.py). See MODEL_CARD.md for the measured effect.
"""
from __future__ import annotations

import math
import re
from typing import Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_SIZE = 256
BN_EPS = 1e-3
LEAKY_SLOPE = 0.1
ARCHITECTURES = ("Meso4", "MesoInception4")
# The four published files and the architecture each needs.
WEIGHTS = {
    "Meso4_DF": "Meso4",
    "Meso4_F2F": "Meso4",
    "MesoInception_DF": "MesoInception4",
    "MesoInception_F2F": "MesoInception4",
}


def tf_same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> Tuple[int, int]:
    """(before, after) padding of TensorFlow's 'same' along one axis."""
    effective = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


class SameConv(nn.Module):
    """Conv2D(padding='same', stride 1) followed by ReLU, as Keras' Conv2D(..., activation='relu')."""

    def __init__(self, cin: int, cout: int, kernel: int, dilation: int = 1):
        super().__init__()
        before, after = tf_same_padding(IMAGE_SIZE, kernel, 1, dilation)
        # Stride 1: the 'same' padding does not depend on the input size; odd kernels pad symmetrically.
        assert before == after, "only odd kernels are used by MesoNet"
        self.conv = nn.Conv2d(cin, cout, kernel, padding=before, dilation=dilation)

    def forward(self, x):
        return F.relu(self.conv(x))


class ConvBlock(nn.Module):
    """Conv(same) -> ReLU -> BatchNorm(eps 1e-3) -> MaxPool(pool, same)."""

    def __init__(self, cin: int, cout: int, kernel: int, pool: int):
        super().__init__()
        self.conv = SameConv(cin, cout, kernel)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.pool = pool

    def forward(self, x):
        x = self.bn(self.conv(x))
        assert x.shape[-1] % self.pool == 0 and x.shape[-2] % self.pool == 0
        return F.max_pool2d(x, self.pool)


class InceptionLayer(nn.Module):
    """MesoInception's block: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 dilation 2 | 1x1 -> 3x3 dilation 3, concatenated
    on channels in that order, every convolution followed by ReLU."""

    def __init__(self, cin: int, a: int, b: int, c: int, d: int):
        super().__init__()
        self.branch1 = SameConv(cin, a, 1)
        self.branch2_1x1 = SameConv(cin, b, 1)
        self.branch2_3x3 = SameConv(b, b, 3)
        self.branch3_1x1 = SameConv(cin, c, 1)
        self.branch3_3x3 = SameConv(c, c, 3, dilation=2)
        self.branch4_1x1 = SameConv(cin, d, 1)
        self.branch4_3x3 = SameConv(d, d, 3, dilation=3)
        self.out_channels = a + b + c + d

    def forward(self, x):
        return torch.cat([
            self.branch1(x),
            self.branch2_3x3(self.branch2_1x1(x)),
            self.branch3_3x3(self.branch3_1x1(x)),
            self.branch4_3x3(self.branch4_1x1(x)),
        ], dim=1)

    def convs(self) -> List[nn.Conv2d]:
        """In the order Keras created them (and numbered them)."""
        return [m.conv for m in (self.branch1, self.branch2_1x1, self.branch2_3x3, self.branch3_1x1,
                                 self.branch3_3x3, self.branch4_1x1, self.branch4_3x3)]


class InceptionBlock(nn.Module):
    def __init__(self, cin: int, a: int, b: int, c: int, d: int):
        super().__init__()
        self.inception = InceptionLayer(cin, a, b, c, d)
        self.bn = nn.BatchNorm2d(self.inception.out_channels, eps=BN_EPS)

    def forward(self, x):
        return F.max_pool2d(self.bn(self.inception(x)), 2)


class Classifier(nn.Module):
    """Flatten (NHWC order) -> Dense(16) -> hidden activation -> Dense(1). Returns the logit of P(real)."""

    def __init__(self, hidden: str = "leaky"):
        super().__init__()
        if hidden not in ("leaky", "linear", "relu"):
            raise ValueError(f"hidden activation must be leaky, linear or relu, not {hidden}")
        self.hidden = hidden
        self.fc1 = nn.Linear(8 * 8 * 16, 16)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        x = self.fc1(x)
        if self.hidden == "leaky":
            x = F.leaky_relu(x, LEAKY_SLOPE)
        elif self.hidden == "relu":
            x = F.relu(x)
        return self.fc2(x)


class Meso4(nn.Module):
    def __init__(self, hidden: str = "leaky"):
        super().__init__()
        self.block1 = ConvBlock(3, 8, 3, 2)
        self.block2 = ConvBlock(8, 8, 5, 2)
        self.block3 = ConvBlock(8, 16, 5, 2)
        self.block4 = ConvBlock(16, 16, 5, 4)
        self.classifier = Classifier(hidden)

    def forward(self, x):
        return self.classifier(self.block4(self.block3(self.block2(self.block1(x)))))

    def keras_order(self):
        convs = [b.conv.conv for b in (self.block1, self.block2, self.block3, self.block4)]
        bns = [b.bn for b in (self.block1, self.block2, self.block3, self.block4)]
        return convs, bns, [self.classifier.fc1, self.classifier.fc2]


class MesoInception4(nn.Module):
    def __init__(self):
        super().__init__()
        self.block1 = InceptionBlock(3, 1, 4, 4, 2)     # 11 channels
        self.block2 = InceptionBlock(11, 2, 4, 4, 2)    # 12 channels
        self.block3 = ConvBlock(12, 16, 5, 2)
        self.block4 = ConvBlock(16, 16, 5, 4)
        self.classifier = Classifier("leaky")

    def forward(self, x):
        return self.classifier(self.block4(self.block3(self.block2(self.block1(x)))))

    def keras_order(self):
        convs = self.block1.inception.convs() + self.block2.inception.convs() + [self.block3.conv.conv, self.block4.conv.conv]
        bns = [self.block1.bn, self.block2.bn, self.block3.bn, self.block4.bn]
        return convs, bns, [self.classifier.fc1, self.classifier.fc2]


class FakeLogit(nn.Module):
    """logit of P(fake) = -(logit of P(real)): sigmoid of it is 1 - the Keras sigmoid."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, face):
        return -self.model(face)


def build(architecture: str, meso4_hidden: str = "leaky") -> nn.Module:
    if architecture == "Meso4":
        return Meso4(meso4_hidden)
    if architecture == "MesoInception4":
        return MesoInception4()
    raise ValueError(f"unknown architecture {architecture}; expected one of {ARCHITECTURES}")


# ---- Keras HDF5 -----------------------------------------------------------------------------------------

class WeightsFileError(Exception):
    pass


def _suffix(name: str) -> int:
    m = re.search(r"_(\d+)$", name)
    return int(m.group(1)) if m else 0


def read_keras_h5(path: str) -> Dict[str, List[Tuple[str, "object"]]]:
    """{layer name: [(weight name, numpy array), ...]} for every layer of a Keras weights file, read with
    h5py (datasets only: nothing in the file is executed). Layers without weights map to []."""
    import h5py
    import numpy as np

    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise WeightsFileError(f"{path} is not an HDF5 file: {err}") from err
    with f:
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in root.attrs:
            raise WeightsFileError(f"{path} is not a Keras weights file (no layer_names attribute)")
        layers = {}
        for raw in root.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            group = root[name]
            weights = []
            for wraw in group.attrs.get("weight_names", []):
                wname = wraw.decode() if isinstance(wraw, bytes) else str(wraw)
                weights.append((wname, np.array(group[wname], dtype=np.float32)))
            layers[name] = weights
        return layers


def keras_layers_in_creation_order(layers, kind: str):
    """Layers of one kind (conv2d, batch_normalization, dense) with weights, ordered by Keras' creation
    counter (the numeric suffix), which is the order of the layer calls in classifiers.py."""
    names = [n for n in layers if re.fullmatch(rf"{kind}_\d+", n) and layers[n]]
    return sorted(names, key=_suffix)


def architecture_of(layers) -> str:
    convs = keras_layers_in_creation_order(layers, "conv2d")
    if len(convs) == 4:
        return "Meso4"
    if len(convs) == 16:
        return "MesoInception4"
    raise WeightsFileError(f"{len(convs)} convolution layers: neither Meso4 (4) nor MesoInception4 (16)")


def state_dict_from_keras(layers, model: nn.Module) -> Dict[str, torch.Tensor]:
    """Map Keras weights onto `model`'s parameters, checking every shape."""
    import numpy as np

    convs, bns, denses = model.keras_order()
    k_convs = keras_layers_in_creation_order(layers, "conv2d")
    k_bns = keras_layers_in_creation_order(layers, "batch_normalization")
    k_denses = keras_layers_in_creation_order(layers, "dense")
    if (len(k_convs), len(k_bns), len(k_denses)) != (len(convs), len(bns), len(denses)):
        raise WeightsFileError(
            f"layer counts conv/bn/dense {len(k_convs)}/{len(k_bns)}/{len(k_denses)} do not match "
            f"{type(model).__name__} ({len(convs)}/{len(bns)}/{len(denses)})")

    def named(layer: str, suffixes: List[str]):
        got = {w.split("/")[-1].split(":")[0]: a for w, a in layers[layer]}
        missing = [s for s in suffixes if s not in got]
        if missing:
            raise WeightsFileError(f"{layer}: missing {missing} (has {sorted(got)})")
        return [got[s] for s in suffixes]

    def put(param: torch.Tensor, value, where: str):
        if tuple(param.shape) != tuple(value.shape):
            raise WeightsFileError(f"{where}: shape {tuple(value.shape)} != expected {tuple(param.shape)}")
        if not np.all(np.isfinite(value)):
            raise WeightsFileError(f"{where}: non-finite values")
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))

    for conv, name in zip(convs, k_convs):
        kernel, bias = named(name, ["kernel", "bias"])
        put(conv.weight, kernel.transpose(3, 2, 0, 1), f"{name}/kernel")
        put(conv.bias, bias, f"{name}/bias")
    for bn, name in zip(bns, k_bns):
        gamma, beta, mean, var = named(name, ["gamma", "beta", "moving_mean", "moving_variance"])
        put(bn.weight, gamma, f"{name}/gamma")
        put(bn.bias, beta, f"{name}/beta")
        put(bn.running_mean, mean, f"{name}/moving_mean")
        put(bn.running_var, var, f"{name}/moving_variance")
    for dense, name in zip(denses, k_denses):
        kernel, bias = named(name, ["kernel", "bias"])
        put(dense.weight, kernel.T, f"{name}/kernel")
        put(dense.bias, bias, f"{name}/bias")
    return model.state_dict()


def has_hidden_activation_layer(layers) -> bool:
    return any(re.fullmatch(r"leaky_re_lu_\d+", n) for n in layers)


def load_keras_model(path: str, meso4_hidden: str = "leaky") -> nn.Module:
    """Build the architecture a Keras weights file needs and load it (eval mode)."""
    layers = read_keras_h5(path)
    arch = architecture_of(layers)
    model = build(arch, meso4_hidden)
    state_dict_from_keras(layers, model)
    return model.eval()


def random_model(architecture: str, seed: int) -> nn.Module:
    """Random weights of the real layout, BatchNorm statistics calibrated on synthetic images so activations
    have a realistic scale (scores are meaningless)."""
    torch.manual_seed(seed)
    model = build(architecture)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.momentum = None
                m.reset_running_stats()
        model.train()
        for _ in range(2):
            ramp = torch.linspace(0, 1, IMAGE_SIZE).view(1, 1, 1, IMAGE_SIZE)
            x = (torch.rand(4, 3, 1, 1) * 0.6 + ramp * torch.rand(4, 3, 1, 1) * 0.4
                 + 0.05 * torch.randn(4, 3, IMAGE_SIZE, IMAGE_SIZE)).clamp(0, 1)
            model(x)
    return model.eval()


def image_tensor(rgb_uint8) -> torch.Tensor:
    """HWC uint8 RGB (256x256) -> [1, 3, 256, 256] float32 in [0, 1], computed as float32(u) / 255 (Keras'
    rescale=1/255 multiplies by float32(1/255), which can differ in the last bit; both are within 6e-8)."""
    import numpy as np

    arr = np.asarray(rgb_uint8)
    if arr.shape != (IMAGE_SIZE, IMAGE_SIZE, 3) or arr.dtype != np.uint8:
        raise ValueError(f"expected a {IMAGE_SIZE}x{IMAGE_SIZE}x3 uint8 face crop, got {arr.shape} {arr.dtype}")
    t = torch.from_numpy(arr.astype(np.float32) / np.float32(255.0))
    return t.permute(2, 0, 1).unsqueeze(0).contiguous()


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
