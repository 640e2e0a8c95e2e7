"""Write a random-weight CLIP model in the format OpenAI publishes ViT-L-14.pt (for tests).

  make_random_clip.py OUT.pt [--layers 2] [--seed 0] [--format torchscript|state_dict]
  make_random_clip.py --head-only OUT.pth [--seed 0]      a random head in fc_weights.pth's layout

The image tower has ViT-L/14's exact shapes (patch 14, width 1024, 16 heads, output 768) with
fewer residual blocks; the text tower is a small stand-in (its keys sit beside `visual.*` in the
real file and must be ignored). The model is written independently of ufd_reference.py, the way
openai/CLIP structures it: nn.MultiheadAttention on sequence-first (LND) input, weights in fp16
for Conv/Linear/attention/projections and fp32 elsewhere (CLIP's convert_weights), then

  torchscript: torch.jit.trace(model, image) -> fp16 conversion -> torch.jit.save (a TorchScript
               zip with data.pkl, data/, code/, constants.pkl - the structure of ViT-L-14.pt)
  state_dict:  torch.save(model.state_dict())

Also usable as a module: `ClipLike` doubles as an upstream-structured reference in selfcheck.py.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ufd_reference import EMBED_DIM, HEADS, INPUT_SIZE, PATCH, WIDTH  # noqa: E402


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int, attn_mask: torch.Tensor | None = None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(width * 4, width)),
        ]))
        self.ln_2 = nn.LayerNorm(width)
        self.attn_mask = attn_mask

    def forward(self, x):  # x: [L, N, D]
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Tower(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class Visual(nn.Module):
    def __init__(self, layers: int):
        super().__init__()
        grid = INPUT_SIZE // PATCH
        scale = WIDTH ** -0.5
        self.conv1 = nn.Conv2d(3, WIDTH, kernel_size=PATCH, stride=PATCH, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(WIDTH))
        self.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, WIDTH))
        self.ln_pre = nn.LayerNorm(WIDTH)
        self.transformer = Tower(WIDTH, layers, HEADS)
        self.ln_post = nn.LayerNorm(WIDTH)
        self.proj = nn.Parameter(scale * torch.randn(WIDTH, EMBED_DIM))

    def forward(self, x):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        zeros = torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = torch.cat([self.class_embedding.to(x.dtype) + zeros, x], dim=1)
        x = self.ln_pre(x + self.positional_embedding.to(x.dtype))
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


class ClipLike(nn.Module):
    """CLIP with a ViT-L/14-shaped image tower of `layers` blocks and a tiny text tower."""

    def __init__(self, layers: int, text_width: int = 64, context: int = 8, vocab: int = 64):
        super().__init__()
        self.visual = Visual(layers)
        mask = torch.full((context, context), float("-inf")).triu_(1)
        self.transformer = Tower(text_width, 1, 1, attn_mask=mask)
        self.token_embedding = nn.Embedding(vocab, text_width)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(context, text_width))
        self.ln_final = nn.LayerNorm(text_width)
        self.text_projection = nn.Parameter(text_width ** -0.5 * torch.randn(text_width, EMBED_DIM))
        self.logit_scale = nn.Parameter(torch.ones([]) * 4.6052)
        # OpenAI's traced archives carry these as tensors too (clip.build_model deletes them).
        self.register_buffer("input_resolution", torch.tensor(INPUT_SIZE))
        self.register_buffer("context_length", torch.tensor(context))
        self.register_buffer("vocab_size", torch.tensor(vocab))

    def forward(self, image):  # encode_image
        return self.visual(image.type(self.visual.conv1.weight.dtype))


def randomize(model: ClipLike, seed: int) -> ClipLike:
    """CLIP's initialisation scales, plus random LayerNorm affine and biases (so every tensor
    of the layout influences the output)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    blocks = list(model.visual.transformer.resblocks)
    layers = len(blocks)
    attn_std = WIDTH ** -0.5
    proj_std = WIDTH ** -0.5 * (2 * layers) ** -0.5
    fc_std = (2 * WIDTH) ** -0.5
    with torch.no_grad():
        model.visual.conv1.weight.normal_(0, (3 * PATCH * PATCH) ** -0.5, generator=g)
        for block in blocks:
            block.attn.in_proj_weight.normal_(0, attn_std, generator=g)
            block.attn.in_proj_bias.normal_(0, 0.02, generator=g)
            block.attn.out_proj.weight.normal_(0, proj_std, generator=g)
            block.attn.out_proj.bias.normal_(0, 0.02, generator=g)
            block.mlp.c_fc.weight.normal_(0, fc_std, generator=g)
            block.mlp.c_fc.bias.normal_(0, 0.02, generator=g)
            block.mlp.c_proj.weight.normal_(0, proj_std, generator=g)
            block.mlp.c_proj.bias.normal_(0, 0.02, generator=g)
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.8, 1.2, generator=g)
                m.bias.normal_(0, 0.05, generator=g)
    return model.eval()


# clip.model.convert_weights: Conv/Linear weights and biases, attention projections, proj and
# text_projection in fp16; LayerNorm, embeddings and logit_scale stay fp32.
def _is_fp16(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return (
        name.endswith(("conv1.weight", "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"))
        or ".mlp.c_" in name
        or leaf in ("proj", "text_projection")
    )


def random_clip(layers: int, seed: int) -> ClipLike:
    """Deterministic for (layers, seed): the constructor's random draws are seeded too."""
    torch.manual_seed(seed)
    return randomize(ClipLike(layers), seed)


def write_archive(path: Path, layers: int, seed: int, fmt: str = "torchscript") -> None:
    model = random_clip(layers, seed)
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(model, torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE), check_trace=False)
        with torch.no_grad():
            for name, param in traced.named_parameters():
                if _is_fp16(name):
                    param.data = param.data.half()
        torch.jit.save(traced, str(tmp))
    elif fmt == "state_dict":
        with torch.no_grad():
            for name, param in model.named_parameters():
                if _is_fp16(name):
                    param.data = param.data.half()
        torch.save(model.state_dict(), str(tmp))
    else:
        raise ValueError(f"unknown format {fmt}")
    os.replace(tmp, path)


def write_random_head(path: Path, seed: int) -> None:
    """A random head in fc_weights.pth's layout (state_dict of nn.Linear(768, 1))."""
    torch.manual_seed(seed)
    fc = nn.Linear(EMBED_DIM, 1)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(fc.state_dict(), str(tmp))
    os.replace(tmp, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path, nargs="?")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--format", choices=["torchscript", "state_dict"], default="torchscript")
    p.add_argument("--head-only", type=Path, metavar="PATH", help="write a random Linear(768, 1) head instead")
    args = p.parse_args(argv)
    if args.head_only:
        args.head_only.parent.mkdir(parents=True, exist_ok=True)
        write_random_head(args.head_only, args.seed)
        print(f"wrote {args.head_only} (random head, seed {args.seed})")
        return 0
    if args.out is None:
        p.error("OUT is required")
    if not 1 <= args.layers <= 24:
        p.error("--layers must be 1..24")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_archive(args.out, args.layers, args.seed, args.format)
    print(f"wrote {args.out} ({args.format}, {args.layers} image-tower blocks, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
