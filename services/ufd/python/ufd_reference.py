"""PyTorch reference for UniversalFakeDetect (Ojha, Li, Lee, CVPR 2023), written for DeepSafe.

Ported by reading WisconsinAIVision/UniversalFakeDetect (models/clip_models.py, its vendored
models/clip/{clip,model}.py, validate.py) and openai/CLIP (clip/model.py, clip/clip.py); no
upstream code is copied.

Model (upstream CLIPModel("ViT-L/14") with the published linear probe):
  features = CLIP ViT-L/14 image encoder (frozen)                   [N, 768]
  logit    = Linear(768, 1)(features)          (pretrained_weights/fc_weights.pth: weight, bias)
  P(fake)  = sigmoid(logit)                    (validate.py: model(img).sigmoid(); > 0.5 = fake)

CLIP's VisionTransformer (ViT-L/14: patch 14, width 1024, 24 layers, 16 heads, output 768):
  conv1        Conv2d(3, width, 14, stride 14, no bias)     -> 16 x 16 = 256 patch tokens
  tokens       [class_embedding, patches] + positional_embedding   (257 x width)
  ln_pre       LayerNorm (eps 1e-5, computed in fp32)
  resblocks.i  x + attn(ln_1(x));  x + mlp(ln_2(x))
               attn = multi-head self-attention with a packed in_proj (q, k, v) and out_proj,
               no mask for the image tower; mlp = c_fc (4 x width) -> QuickGELU -> c_proj,
               QuickGELU(x) = x * sigmoid(1.702 x)
  ln_post      on the class token only, then @ proj (width x 768, no bias)
The parameter names reproduce CLIP's `visual.*` state_dict keys (without the prefix), so the
visual weights of ViT-L-14.pt load with strict=True. OpenAI ships the weights in fp16; clip.load
on the CPU upcasts them to fp32 (model.float()), which is exact, and so do we. Upstream
evaluates in fp32 (validate.py moves that fp32 model to CUDA).

Reference preprocessing (validate.py RealFakeDataset, used for every reported number; the
jpeg_quality / gaussian_sigma robustness options default to None and are off):
  PIL Image.open(path).convert("RGB")
  -> transforms.CenterCrop(224) at the image's native resolution (no resize); a side smaller than
     224 is first zero-padded (black) to 224, (224 - s) // 2 before and the rest after, as
     torchvision's center_crop does; the crop offset of a larger side is round((s - 224) / 2)
     with Python's round (halves go to the even integer)
  -> ToTensor -> Normalize(CLIP mean, CLIP std)   (validate.py MEAN["clip"], STD["clip"])
Note: this is not CLIP's own preprocess (bicubic resize of the short side to 224 first);
UFD's evaluation never resizes.
"""
from __future__ import annotations

import math

import torch
from torch import nn

INPUT_SIZE = 224
PATCH = 14
WIDTH = 1024
LAYERS = 24
HEADS = 16
EMBED_DIM = 768
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


_ONEDNN_LINEAR = False


def use_onednn_linear(enabled: bool) -> None:
    """Run the fully connected layers through oneDNN (torch._C._nn.mkldnn_linear) instead of
    torch's BLAS. Debian's torch links the reference (netlib) BLAS, about 2 GFLOP/s here, which
    makes a ViT-L block take seconds; oneDNN computes the same products ~50x faster, differing
    only in float summation order. Off by default and never used for the ONNX export."""
    global _ONEDNN_LINEAR
    _ONEDNN_LINEAR = bool(enabled) and torch.backends.mkldnn.is_available()


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    if _ONEDNN_LINEAR and x.dtype == torch.float32 and bias is not None and not torch.jit.is_tracing():
        flat = x.reshape(-1, x.shape[-1]).contiguous()
        y = torch._C._nn.mkldnn_linear(flat.to_mkldnn(), weight.to_mkldnn(), bias.to_mkldnn()).to_dense()
        return y.reshape(*x.shape[:-1], weight.shape[0])
    return nn.functional.linear(x, weight, bias)


class LayerNorm32(nn.LayerNorm):
    """CLIP's LayerNorm runs in fp32 whatever the input dtype; we only ever run fp32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.float()).to(x.dtype)


class SelfAttention(nn.Module):
    """Multi-head self-attention with nn.MultiheadAttention's parameter layout
    (in_proj_weight [3D, D], in_proj_bias [3D], out_proj Linear(D, D)), batch-first input.

    Written out with plain tensor ops (no mask, no dropout) so the ONNX graph is explicit;
    equal to nn.MultiheadAttention(D, H)(x, x, x, need_weights=False) up to float rounding
    (checked by selfcheck.py)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        qkv = linear(x, self.in_proj_weight, self.in_proj_bias)
        # [N, L, 3, H, Dh] -> three [N, H, L, Dh]
        qkv = qkv.reshape(n, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = torch.softmax((q * self.scale) @ k.transpose(-2, -1), dim=-1)
        out = (weights @ v).permute(0, 2, 1, 3).reshape(n, length, dim)
        return linear(out, self.out_proj.weight, self.out_proj.bias)


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class Mlp(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.c_fc = nn.Linear(dim, 4 * dim)
        self.gelu = QuickGELU()
        self.c_proj = nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.gelu(linear(x, self.c_fc.weight, self.c_fc.bias))
        return linear(h, self.c_proj.weight, self.c_proj.bias)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attn = SelfAttention(dim, heads)
        self.ln_1 = LayerNorm32(dim)
        self.mlp = Mlp(dim)
        self.ln_2 = LayerNorm32(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, dim: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.Sequential(*[Block(dim, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    """CLIP's image tower; state_dict keys equal CLIP's `visual.*` keys minus the prefix."""

    def __init__(self, layers: int = LAYERS, width: int = WIDTH, heads: int = HEADS,
                 patch: int = PATCH, resolution: int = INPUT_SIZE, output_dim: int = EMBED_DIM):
        super().__init__()
        grid = resolution // patch
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        self.positional_embedding = nn.Parameter(torch.zeros(grid * grid + 1, width))
        self.ln_pre = LayerNorm32(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm32(width)
        self.proj = nn.Parameter(torch.zeros(width, output_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)                                   # [N, W, g, g]
        x = x.flatten(2).transpose(1, 2)                    # [N, g*g, W], row-major patches
        cls = self.class_embedding.to(x.dtype).reshape(1, 1, -1).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = self.transformer(x)                             # batch-first throughout
        return self.ln_post(x[:, 0, :]) @ self.proj


class UniversalFakeDetect(nn.Module):
    """CLIP image features -> Linear(768, 1) logit. `backbone` keys = CLIP visual keys,
    `fc` keys = fc_weights.pth keys (weight, bias)."""

    def __init__(self, layers: int = LAYERS):
        super().__init__()
        self.backbone = VisionTransformer(layers=layers)
        self.fc = nn.Linear(EMBED_DIM, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return linear(self.backbone(image), self.fc.weight, self.fc.bias)


def expected_visual_keys(layers: int) -> list[str]:
    """CLIP `visual.*` keys (without the prefix) for a ViT with this many layers."""
    return list(VisionTransformer(layers=layers, width=8, heads=1, output_dim=4).state_dict().keys())


def expected_visual_shapes(layers: int) -> dict[str, tuple[int, ...]]:
    grid = INPUT_SIZE // PATCH
    shapes: dict[str, tuple[int, ...]] = {
        "class_embedding": (WIDTH,),
        "positional_embedding": (grid * grid + 1, WIDTH),
        "proj": (WIDTH, EMBED_DIM),
        "conv1.weight": (WIDTH, 3, PATCH, PATCH),
        "ln_pre.weight": (WIDTH,), "ln_pre.bias": (WIDTH,),
        "ln_post.weight": (WIDTH,), "ln_post.bias": (WIDTH,),
    }
    for i in range(layers):
        p = f"transformer.resblocks.{i}."
        shapes.update({
            p + "attn.in_proj_weight": (3 * WIDTH, WIDTH),
            p + "attn.in_proj_bias": (3 * WIDTH,),
            p + "attn.out_proj.weight": (WIDTH, WIDTH),
            p + "attn.out_proj.bias": (WIDTH,),
            p + "ln_1.weight": (WIDTH,), p + "ln_1.bias": (WIDTH,),
            p + "mlp.c_fc.weight": (4 * WIDTH, WIDTH),
            p + "mlp.c_fc.bias": (4 * WIDTH,),
            p + "mlp.c_proj.weight": (WIDTH, 4 * WIDTH),
            p + "mlp.c_proj.bias": (WIDTH,),
            p + "ln_2.weight": (WIDTH,), p + "ln_2.bias": (WIDTH,),
        })
    assert set(shapes) == set(expected_visual_keys(layers))
    return shapes


# ---- preprocessing ---------------------------------------------------------------------------

def load_image_rgb(path: str):
    """validate.py: Image.open(path).convert("RGB") (no EXIF orientation)."""
    from PIL import Image

    with Image.open(path) as im:
        return im.convert("RGB")


def crop_geometry(size: int, crop: int = INPUT_SIZE) -> tuple[int, int]:
    """(zero rows/columns added before the image, first source index of the crop) along one
    axis, as torchvision's center_crop: pad (crop - size) // 2 before a too-small side (the
    padded side then equals the crop and starts at 0), else start at round((size - crop) / 2)."""
    if size < crop:
        return (crop - size) // 2, 0
    return 0, int(round((size - crop) / 2.0))


def center_crop_reference(img, crop: int = INPUT_SIZE):
    """torchvision.transforms.CenterCrop(crop) on a PIL RGB image, with PIL operations only
    (torchvision is not installed here): zero-pad what is too small, then crop."""
    from PIL import Image

    w, h = img.size
    pad_left, left = crop_geometry(w, crop)
    pad_top, top = crop_geometry(h, crop)
    if pad_left or pad_top:
        pad_right = (crop - w + 1) // 2 if w < crop else 0
        pad_bottom = (crop - h + 1) // 2 if h < crop else 0
        canvas = Image.new("RGB", (w + pad_left + pad_right, h + pad_top + pad_bottom), (0, 0, 0))
        canvas.paste(img, (pad_left, pad_top))
        img = canvas
    if img.size == (crop, crop):
        return img
    return img.crop((left, top, left + crop, top + crop))


def to_normalized_tensor(img) -> torch.Tensor:
    """ToTensor + Normalize(CLIP mean, std) in float32, as torchvision does it: u8 -> float,
    / 255, then (x - mean) / std."""
    import numpy as np

    arr = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy())  # H, W, 3
    x = arr.permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=torch.float32).view(3, 1, 1)
    return x.sub(mean).div(std)


def preprocess_file(path: str) -> tuple[torch.Tensor, object, object]:
    """-> (tensor [3, 224, 224], decoded RGB image, cropped RGB image)."""
    rgb = load_image_rgb(path)
    cropped = center_crop_reference(rgb)
    return to_normalized_tensor(cropped), rgb, cropped
