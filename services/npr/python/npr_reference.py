"""PyTorch reference for the NPR detector (Tan et al., CVPR 2024), written for DeepSafe.

Ported by reading chuangchuangtan/NPR-DeepfakeDetection (networks/resnet.py, data/datasets.py,
test.py); no upstream code is copied. The module layout reproduces the official checkpoint's
146 state_dict keys exactly (no prefix), so the official NPR.pth loads with strict=True.

Architecture (as upstream):
  NPR = x - up2(down2(x))      nearest x0.5 then x2, i.e. each pixel minus the top-left pixel of
                               its 2x2 block. Upstream fails on odd sizes; we crop the last
                               row/column first (what upstream's README recommends).
  conv1(NPR * 2.0 / 3.0)       3x3 stride-2 conv, 3 -> 64, no bias; then BN, ReLU,
                               maxpool 3x3/2 pad 1
  layer1, layer2               ResNet-50 Bottleneck stages [3, 4] (64 and 128 planes)
  global average pool, fc1 = Linear(512, 1)   -> logit; sigmoid(logit) = P(fake)

Reference preprocessing (upstream evaluation, test.py with no_resize=False, no_crop=True):
  PIL open -> convert("RGB") -> resize((256, 256), BILINEAR) -> ToTensor -> ImageNet Normalize.
"""
from __future__ import annotations

import torch
from torch import nn

LOAD_SIZE = 256
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
STATE_DICT_KEYS = 146


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = nn.Conv2d(in_ch, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        # torchvision v1 style (as upstream): the stride sits on the 3x3 conv.
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(y + shortcut)


def _stage(in_ch: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    out_ch = planes * Bottleneck.expansion
    downsample = None
    if stride != 1 or in_ch != out_ch:
        downsample = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_ch),
        )
    layers = [Bottleneck(in_ch, planes, stride, downsample)]
    layers += [Bottleneck(out_ch, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """x minus nearest-neighbour (x0.5 then x2) of itself, after cropping odd H/W to even.

    Written with slicing and broadcasting rather than two F.interpolate calls: for even sizes it is
    bit-identical to upstream's interpolate(interpolate(x, 0.5), 2) with recompute_scale_factor
    (both pick the top-left pixel of each 2x2 block), and exports to plain ONNX Slice/Reshape/Sub.
    """
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    x = x[:, :, : h2 * 2, : w2 * 2]
    blocks = x.reshape(-1, c, h2, 2, w2, 2)
    anchor = blocks[:, :, :, 0:1, :, 0:1]
    return (blocks - anchor).reshape(-1, c, h2 * 2, w2 * 2)


class NPR(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = _stage(64, 64, 3, stride=1)
        self.layer2 = _stage(256, 128, 4, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = npr_residual(x)
        # Same operation order as upstream: (NPR * 2.0) / 3.0.
        y = self.maxpool(self.relu(self.bn1(self.conv1(r * 2.0 / 3.0))))
        y = self.layer2(self.layer1(y))
        y = torch.flatten(self.avgpool(y), 1)
        return self.fc1(y)


def expected_keys() -> list[str]:
    return list(NPR().state_dict().keys())


def load_image_rgb(path: str):
    """As torchvision's ImageFolder loader: PIL open, convert("RGB") (alpha dropped, no EXIF transpose)."""
    from PIL import Image

    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


def resize_reference(img):
    """torchvision Resize((256, 256)) on a PIL image = PIL resize with BILINEAR (antialiased)."""
    from PIL import Image

    return img.resize((LOAD_SIZE, LOAD_SIZE), Image.BILINEAR)


def to_normalized_tensor(img) -> torch.Tensor:
    """ToTensor + Normalize(ImageNet) in float32, same arithmetic as torchvision."""
    import numpy as np

    arr = np.array(img, dtype=np.uint8, copy=True)
    t = torch.from_numpy(arr).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    mean = torch.as_tensor(MEAN, dtype=torch.float32).view(-1, 1, 1)
    std = torch.as_tensor(STD, dtype=torch.float32).view(-1, 1, 1)
    return t.sub_(mean).div_(std)


def preprocess_reference(path: str) -> torch.Tensor:
    """File -> [3, 256, 256] float32, exactly as upstream's evaluation (no crop)."""
    return to_normalized_tensor(resize_reference(load_image_rgb(path)))
