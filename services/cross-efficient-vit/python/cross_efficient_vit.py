"""Our PyTorch reference of Cross-Efficient-ViT (Coccomini, Messina, Gennaro, Falchi: "Combining EfficientNet
and Vision Transformers for Video Deepfake Detection", ICIAP 2022), written from the paper and from reading
davide-coccomini/Combining-EfficientNet-and-Vision-Transformers-for-Video-Deepfake-Detection
(cross-efficient-vit/cross_efficient_vit.py, configs/architecture.yaml and its vendored copy of
lukemelas/EfficientNet-PyTorch). No upstream code is imported or copied; module and parameter names are
chosen so that our state_dict has exactly the keys and shapes of upstream's, so the official
cross_efficient_vit.pth loads with strict=True.

The network, for one face crop x (float [N, 3, 224, 224], BGR, 0..255, no normalisation):

  two EfficientNet-B0 feature extractors (each a full B0 with its ImageNet head, as upstream builds them):
    small-patch branch: stem + all 16 MBConv blocks + 1x1 head conv -> [N, 1280, 7, 7]
    large-patch branch: stem + MBConv blocks 0, 1, 2                -> [N, 24, 56, 56]
      (upstream's extract_features_at_block(x, 1) breaks only after the block whose index exceeds 1)
  patch embedding 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)' with p = 7 and p = 56: each branch has ONE patch
    token (h = w = 1), projected by Linear(1280*49 -> 192) and Linear(24*56*56 -> 384); a CLS token is
    prepended and the first two rows of the positional embedding added (the parameter is sized for
    (224/p)^2 + 1 positions: 1025 and 17, of which only 2 are used);
  multi-scale encoder, 4 times: pre-norm Transformer (192: depth 2; 384: depth 3; 8 heads of 64, MLP 2048,
    GELU, final LayerNorm), then 2 rounds of cross attention where each branch's CLS token, projected to the
    other branch's width, attends over [itself, the other branch's patch tokens] (the context is not
    normalised), projected back and added;
  heads: LayerNorm + Linear(dim, 1) on each CLS token; logit = small + large.

EfficientNet-B0 as lukemelas/EfficientNet-PyTorch builds it for 224 inputs: TensorFlow 'SAME' padding computed
statically for the 224 input (pad = max((ceil(i/s) - 1) s + k - i, 0), the extra pixel at the bottom/right),
BatchNorm eps 1e-3, swish, squeeze-excitation with int(block input filters * 0.25) channels, residual only
where stride is 1 and in == out. Dropout and drop-connect are inactive in evaluation.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

# configs/architecture.yaml, model section (values of the published configuration)
CONFIG = {
    "image_size": 224,
    "num_classes": 1,
    "depth": 4,
    "sm_dim": 192,
    "sm_patch_size": 7,
    "sm_enc_depth": 2,
    "sm_enc_dim_head": 64,
    "sm_enc_heads": 8,
    "sm_enc_mlp_dim": 2048,
    "lg_dim": 384,
    "lg_patch_size": 56,
    "lg_enc_depth": 3,
    "lg_enc_dim_head": 64,
    "lg_enc_heads": 8,
    "lg_enc_mlp_dim": 2048,
    "cross_attn_depth": 2,
    "cross_attn_dim_head": 64,
    "cross_attn_heads": 8,
    "lg_channels": 24,
    "sm_channels": 1280,
}
# EfficientNet blocks whose output each branch takes (upstream's efficient_block argument)
SM_EFFICIENT_BLOCK = 16
LG_EFFICIENT_BLOCK = 1

# EfficientNet-B0 stages: repeats, kernel, stride, expansion, input filters, output filters (SE ratio 0.25)
B0_STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
B0_IMAGE_SIZE = 224
BN_EPS = 1e-3
BN_MOMENTUM = 0.01  # torch convention for TF's 0.99 (irrelevant in evaluation)
SE_RATIO = 0.25


# ----------------------------------------------------------------------------------------- EfficientNet-B0


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow 'SAME' padding (before, after) for one axis of the given input size."""
    out = math.ceil(size / stride)
    pad = max((out - 1) * stride + kernel - size, 0)
    return pad // 2, pad - pad // 2


class SameConv2d(nn.Conv2d):
    """Conv2d with static 'SAME' padding for a square input of side in_size (parameters: weight [+ bias])."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, bias: bool = False, in_size: int = 1):
        super().__init__(cin, cout, kernel, stride, padding=0, groups=groups, bias=bias)
        before, after = same_padding(in_size, kernel, stride)
        self.pads = (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.pads):
            x = F.pad(x, self.pads)
        return super().forward(x)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Mobile inverted bottleneck with squeeze-excitation (parameter names as lukemelas' MBConvBlock)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int, in_size: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(cin, mid, 1, in_size=in_size)
            self._bn0 = batch_norm(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, in_size=in_size)
        self._bn1 = batch_norm(mid)
        squeezed = max(1, int(cin * SE_RATIO))
        self._se_reduce = nn.Conv2d(mid, squeezed, 1)
        self._se_expand = nn.Conv2d(squeezed, mid, 1)
        self._project_conv = SameConv2d(mid, cout, 1, in_size=math.ceil(in_size / stride))
        self._bn2 = batch_norm(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if self.expand:
            x = F.silu(self._bn0(self._expand_conv(x)))
        x = F.silu(self._bn1(self._depthwise_conv(x)))
        s = F.adaptive_avg_pool2d(x, 1)
        s = self._se_expand(F.silu(self._se_reduce(s)))
        x = torch.sigmoid(s) * x
        x = self._bn2(self._project_conv(x))
        if self.residual:
            x = x + inputs
        return x


class EfficientNetB0(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        size = B0_IMAGE_SIZE
        self._conv_stem = SameConv2d(3, 32, 3, 2, in_size=size)
        self._bn0 = batch_norm(32)
        size = math.ceil(size / 2)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in B0_STAGES:
            for r in range(repeats):
                s = stride if r == 0 else 1
                blocks.append(MBConv(cin if r == 0 else cout, cout, kernel, s, expand, size))
                size = math.ceil(size / s)
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, 1280, 1, in_size=size)
        self._bn1 = batch_norm(1280)
        # The ImageNet classifier: in the checkpoint (upstream builds B0 with it), unused by Cross-Efficient-ViT.
        self._fc = nn.Linear(1280, num_classes)

    def features_at_block(self, x: torch.Tensor, selected: int) -> torch.Tensor:
        """Upstream's extract_features_at_block: blocks run until one whose index exceeds `selected` has run;
        the head conv only when `selected` >= the number of blocks."""
        x = F.silu(self._bn0(self._conv_stem(x)))
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index > selected:
                break
        if selected >= len(self._blocks):
            x = F.silu(self._bn1(self._conv_head(x)))
        return x


# ----------------------------------------------------------------------------------------- transformer parts


class PatchFlatten(nn.Module):
    """'b c (h p1) (w p2) -> b (h w) (p1 p2 c)' (einops notation), no parameters."""

    def __init__(self, patch: int):
        super().__init__()
        self.patch = patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, c, height, width = x.shape
        p = self.patch
        h, w = height // p, width // p
        x = x.reshape(-1, c, h, p, w, p).permute(0, 2, 4, 3, 5, 1)
        return x.reshape(-1, h * w, p * p * c)


class ImageEmbedder(nn.Module):
    def __init__(self, dim: int, image_size: int, patch_size: int, channels: int, efficient_block: int):
        super().__init__()
        assert image_size % patch_size == 0
        self.efficient_net = EfficientNetB0()
        self.efficient_block = efficient_block
        self.to_patch_embedding = nn.Sequential(PatchFlatten(patch_size), nn.Linear(channels * patch_size**2, dim))
        self.pos_embedding = nn.Parameter(torch.randn(1, (image_size // patch_size) ** 2 + 1, dim))
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.efficient_net.features_at_block(img, self.efficient_block)
        x = self.to_patch_embedding(x)
        n = x.shape[1]
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1)
        return x + self.pos_embedding[:, : n + 1]


class PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.fn(self.norm(x), **kwargs)


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        # indices 0 and 3 hold the weights (GELU and dropout in between, as upstream's Sequential)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(0.0), nn.Linear(hidden, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.dim_head = dim_head
        self.scale = dim_head**-0.5
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.0))

    def split(self, t: torch.Tensor) -> torch.Tensor:
        # b n (h d) -> b h n d
        return t.reshape(t.shape[0], t.shape[1], self.heads, self.dim_head).transpose(1, 2)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None, kv_include_self: bool = False) -> torch.Tensor:
        context = x if context is None else context
        if kv_include_self:
            context = torch.cat((x, context), dim=1)
        k, v = self.to_kv(context).chunk(2, dim=-1)
        q, k, v = self.split(self.to_q(x)), self.split(k), self.split(v)
        attn = (torch.matmul(q, k.transpose(-1, -2)) * self.scale).softmax(dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2)
        return self.to_out(out.reshape(out.shape[0], out.shape[1], self.heads * self.dim_head))


class Transformer(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, dim_head: int, mlp_dim: int):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList([PreNorm(dim, Attention(dim, heads, dim_head)), PreNorm(dim, FeedForward(dim, mlp_dim))])
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return self.norm(x)


class ProjectInOut(nn.Module):
    def __init__(self, dim_in: int, dim_out: int, fn: nn.Module):
        super().__init__()
        self.fn = fn
        project = dim_in != dim_out
        self.project_in = nn.Linear(dim_in, dim_out) if project else nn.Identity()
        self.project_out = nn.Linear(dim_out, dim_in) if project else nn.Identity()

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        return self.project_out(self.fn(self.project_in(x), **kwargs))


class CrossTransformer(nn.Module):
    def __init__(self, sm_dim: int, lg_dim: int, depth: int, heads: int, dim_head: int):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    ProjectInOut(sm_dim, lg_dim, PreNorm(lg_dim, Attention(lg_dim, heads, dim_head))),
                    ProjectInOut(lg_dim, sm_dim, PreNorm(sm_dim, Attention(sm_dim, heads, dim_head))),
                ]
            )
            for _ in range(depth)
        )

    def forward(self, sm_tokens: torch.Tensor, lg_tokens: torch.Tensor):
        sm_cls, sm_patches = sm_tokens[:, :1], sm_tokens[:, 1:]
        lg_cls, lg_patches = lg_tokens[:, :1], lg_tokens[:, 1:]
        for sm_attend_lg, lg_attend_sm in self.layers:
            sm_cls = sm_attend_lg(sm_cls, context=lg_patches, kv_include_self=True) + sm_cls
            lg_cls = lg_attend_sm(lg_cls, context=sm_patches, kv_include_self=True) + lg_cls
        return torch.cat((sm_cls, sm_patches), dim=1), torch.cat((lg_cls, lg_patches), dim=1)


class MultiScaleEncoder(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    Transformer(c["sm_dim"], c["sm_enc_depth"], c["sm_enc_heads"], c["sm_enc_dim_head"], c["sm_enc_mlp_dim"]),
                    Transformer(c["lg_dim"], c["lg_enc_depth"], c["lg_enc_heads"], c["lg_enc_dim_head"], c["lg_enc_mlp_dim"]),
                    CrossTransformer(c["sm_dim"], c["lg_dim"], c["cross_attn_depth"], c["cross_attn_heads"], c["cross_attn_dim_head"]),
                ]
            )
            for _ in range(c["depth"])
        )

    def forward(self, sm_tokens: torch.Tensor, lg_tokens: torch.Tensor):
        for sm_enc, lg_enc, cross in self.layers:
            sm_tokens, lg_tokens = sm_enc(sm_tokens), lg_enc(lg_tokens)
            sm_tokens, lg_tokens = cross(sm_tokens, lg_tokens)
        return sm_tokens, lg_tokens


class CrossEfficientViT(nn.Module):
    def __init__(self, config: dict | None = None):
        super().__init__()
        c = dict(CONFIG if config is None else config)
        size = c["image_size"]
        self.sm_image_embedder = ImageEmbedder(c["sm_dim"], size, c["sm_patch_size"], c["sm_channels"], SM_EFFICIENT_BLOCK)
        self.lg_image_embedder = ImageEmbedder(c["lg_dim"], size, c["lg_patch_size"], c["lg_channels"], LG_EFFICIENT_BLOCK)
        self.multi_scale_encoder = MultiScaleEncoder(c)
        self.sm_mlp_head = nn.Sequential(nn.LayerNorm(c["sm_dim"]), nn.Linear(c["sm_dim"], c["num_classes"]))
        self.lg_mlp_head = nn.Sequential(nn.LayerNorm(c["lg_dim"]), nn.Linear(c["lg_dim"], c["num_classes"]))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        sm_tokens, lg_tokens = self.multi_scale_encoder(self.sm_image_embedder(img), self.lg_image_embedder(img))
        return self.sm_mlp_head(sm_tokens[:, 0]) + self.lg_mlp_head(lg_tokens[:, 0])


# ----------------------------------------------------------------------------------------- checkpoints


class CheckpointError(Exception):
    """The file is not a Cross-Efficient-ViT state_dict of the published layout."""


def build_model() -> CrossEfficientViT:
    model = CrossEfficientViT()
    model.eval()
    return model


def _summarise(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def read_state_dict(path: str) -> "OrderedDict[str, torch.Tensor]":
    """Tensors only (torch.load weights_only: no code runs); unwraps {'state_dict': …} / {'model': …}; strips
    DataParallel's 'module.' prefix."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - report any unpickling refusal the same way
        raise CheckpointError(f"{path} cannot be read as a tensors-only PyTorch checkpoint: {str(err).splitlines()[0]}") from None
    for wrapper in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and wrapper in obj and isinstance(obj[wrapper], dict):
            obj = obj[wrapper]
            break
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise CheckpointError(f"{path} does not hold a state_dict (a mapping of parameter names to tensors)")
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for key, value in obj.items():
        out[key[len("module."):] if key.startswith("module.") else key] = value
    return out


def check_layout(state: dict, model: nn.Module, path: str) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(expected[k].shape)})" for k in expected if k in state and state[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_summarise(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {_summarise(unexpected)}")
    if wrong:
        problems.append(f"{len(wrong)} shape mismatch(es): {_summarise(wrong)}")
    if problems:
        raise CheckpointError(
            f"{path} is not a Cross-Efficient-ViT checkpoint of the published layout "
            f"({len(expected)} tensors, configs/architecture.yaml): " + "; ".join(problems)
        )


def load_checkpoint(path: str) -> CrossEfficientViT:
    """The model with the checkpoint's weights (strict: every key and shape must match)."""
    model = build_model()
    state = read_state_dict(path)
    check_layout(state, model, path)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model


def random_state_dict(seed: int) -> "OrderedDict[str, torch.Tensor]":
    """Random weights of the published layout (a test fixture; its scores mean nothing). Besides PyTorch's
    default initialisation, normalisation layers get non-trivial statistics and affine parameters so that a
    conversion error in them would show."""
    torch.manual_seed(seed)
    model = build_model()
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=g))
                module.bias.copy_(0.2 * torch.randn(n, generator=g))
                module.running_mean.copy_(0.2 * torch.randn(n, generator=g))
                module.running_var.copy_(0.5 + 1.5 * torch.rand(n, generator=g))
            elif isinstance(module, nn.LayerNorm):
                n = module.normalized_shape[0]
                module.weight.copy_(0.8 + 0.4 * torch.rand(n, generator=g))
                module.bias.copy_(0.1 * torch.randn(n, generator=g))
    return OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
