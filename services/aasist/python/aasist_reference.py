"""Our PyTorch implementation of AASIST (Jung et al., "AASIST: Audio Anti-Spoofing using Integrated
Spectro-Temporal Graph Attention Networks", ICASSP 2022), written from reading clovaai/aasist
(MIT, commit a04c9863f63d44471dde8a6abcb3b082b07cd1d1, models/AASIST.py and config/*.conf).

Module and parameter names follow the published checkpoints so that AASIST.pth and AASIST-L.pth
load with strict=True. Only inference is implemented (dropout and the training-time frequency mask
are left out: both are identities in eval mode).

Input: (batch, 64600) float32 waveform, 16 kHz mono in [-1, 1]. Output: (batch, 2) logits ordered
[spoof, bona fide]; P(fake) = softmax(logits)[:, 0]. The upstream evaluation score is logits[:, 1].

Two behaviours of the released model are reproduced on purpose (the weights were trained with them):
  * In every residual block after the first, the pre-activation (bn1 + SELU) is computed upstream but
    its result is discarded: conv1 reads the block input directly. bn1 is therefore loaded but unused.
  * The sinc front end is a fixed mel-spaced band-pass filterbank computed in code (not a parameter,
    not in the state_dict). Its taps are computed with the same float32/float64 steps as upstream so
    that the filters are bit-identical (sdk/python/sincconv.py, shared with RawGAT-ST).
"""
from __future__ import annotations

import os
import sys
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# Shared pieces (sdk/python): loading the checkpoint safely, and the sinc front end, identical in our
# AASIST and RawGAT-ST references.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from deepsafe_weights import load_state_dict  # noqa: E402
from sincconv import SincFilterbank  # noqa: E402

SAMPLE_RATE = 16000
NB_SAMP = 64600  # ~4.04 s: the only input length the exported graph supports

# model_config of config/AASIST.conf and config/AASIST-L.conf (nb_samp 64600 for both).
CONFIGS: Dict[str, dict] = {
    "AASIST": {
        "first_conv": 128,
        "filts": [70, [1, 32], [32, 32], [32, 64], [64, 64]],
        "gat_dims": [64, 32],
        "pool_ratios": [0.5, 0.7, 0.5, 0.5],
        "temperatures": [2.0, 2.0, 100.0, 100.0],
    },
    "AASIST-L": {
        "first_conv": 128,
        "filts": [70, [1, 32], [32, 32], [32, 24], [24, 24]],
        "gat_dims": [24, 32],
        "pool_ratios": [0.4, 0.5, 0.7, 0.5],
        "temperatures": [2.0, 2.0, 100.0, 100.0],
    },
}


# --------------------------------------------------------------------------------------------
# Encoder


class ResidualBlock(nn.Module):
    """2-D residual block over (filter-band, time) maps, then max-pooling time by 3."""

    def __init__(self, channels: Sequence[int], first: bool = False):
        super().__init__()
        c_in, c_out = channels
        if not first:
            self.bn1 = nn.BatchNorm2d(c_in)  # present in the checkpoint, unused (see module docstring)
        self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=(2, 3), padding=(1, 1))
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=(2, 3), padding=(0, 1))
        self.has_projection = c_in != c_out
        if self.has_projection:
            self.conv_downsample = nn.Conv2d(c_in, c_out, kernel_size=(1, 3), padding=(0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        y = self.conv2(F.selu(self.bn2(y)))
        skip = self.conv_downsample(x) if self.has_projection else x
        return F.max_pool2d(y + skip, kernel_size=(1, 3))


# --------------------------------------------------------------------------------------------
# Graph layers


def _node_batch_norm(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """Batch-norm every node's feature vector: (B, N, D) -> (B, N, D)."""
    b, n, d = x.shape
    return bn(x.reshape(b * n, d)).reshape(b, n, d)


def _pairwise(x: torch.Tensor) -> torch.Tensor:
    """(B, N, D) -> (B, N, N, D) with [b, i, j] = x_i * x_j."""
    return x.unsqueeze(2) * x.unsqueeze(1)


def _xavier_column(dim: int) -> nn.Parameter:
    p = nn.Parameter(torch.empty(dim, 1))
    nn.init.xavier_normal_(p)
    return p


class GraphAttentionLayer(nn.Module):
    """Graph attention over a fully connected homogeneous graph (GAT-S / GAT-T)."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float):
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = _xavier_column(out_dim)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.temperature = float(temperature)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        energy = torch.matmul(torch.tanh(self.att_proj(_pairwise(x))), self.att_weight).squeeze(-1)
        attention = torch.softmax(energy / self.temperature, dim=-1)  # rows: node i over neighbours j
        y = self.proj_with_att(torch.matmul(attention, x)) + self.proj_without_att(x)
        return F.selu(_node_batch_norm(self.bn, y))


class HtrgGraphAttentionLayer(nn.Module):
    """Heterogeneous stacking graph attention (HS-GAL) over temporal + spectral nodes and a master
    node. Attention energies use a different projection vector per edge type: within type 1
    (att_weight11), within type 2 (att_weight22), across types (att_weight12, both directions)."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float):
        super().__init__()
        self.proj_type1 = nn.Linear(in_dim, in_dim)
        self.proj_type2 = nn.Linear(in_dim, in_dim)
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_projM = nn.Linear(in_dim, out_dim)
        self.att_weight11 = _xavier_column(out_dim)
        self.att_weight22 = _xavier_column(out_dim)
        self.att_weight12 = _xavier_column(out_dim)
        self.att_weightM = _xavier_column(out_dim)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.proj_with_attM = nn.Linear(in_dim, out_dim)
        self.proj_without_attM = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.temperature = float(temperature)

    def forward(
        self, nodes1: torch.Tensor, nodes2: torch.Tensor, master: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n1 = nodes1.shape[1]
        x = torch.cat([self.proj_type1(nodes1), self.proj_type2(nodes2)], dim=1)

        # edge energies, block by block (type1/type2 x type1/type2)
        h = torch.tanh(self.att_proj(_pairwise(x)))  # (B, N, N, out)
        top = torch.cat([h[:, :n1, :n1] @ self.att_weight11, h[:, :n1, n1:] @ self.att_weight12], dim=2)
        bottom = torch.cat([h[:, n1:, :n1] @ self.att_weight12, h[:, n1:, n1:] @ self.att_weight22], dim=2)
        energy = torch.cat([top, bottom], dim=1).squeeze(-1)
        attention = torch.softmax(energy / self.temperature, dim=-1)

        # master node: attends over all nodes (one-directional edges into the master)
        m_energy = torch.matmul(torch.tanh(self.att_projM(x * master)), self.att_weightM)  # (B, N, 1)
        m_attention = torch.softmax(m_energy / self.temperature, dim=1)
        new_master = self.proj_with_attM(torch.matmul(m_attention.transpose(1, 2), x)) + self.proj_without_attM(master)

        y = self.proj_with_att(torch.matmul(attention, x)) + self.proj_without_att(x)
        y = F.selu(_node_batch_norm(self.bn, y))
        return y[:, :n1], y[:, n1:], new_master


class GraphPool(nn.Module):
    """Keep the top max(int(N * ratio), 1) nodes by a learned sigmoid score, each scaled by its score.

    The kept-node count depends on the static node count, which is why the model is exported at a
    single input length."""

    def __init__(self, ratio: float, dim: int):
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(dim, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n, d = int(h.shape[1]), int(h.shape[2])
        keep = max(int(n * self.ratio), 1)
        score = torch.sigmoid(self.proj(h))  # (B, N, 1)
        index = torch.topk(score, keep, dim=1).indices.expand(-1, -1, d)
        return torch.gather(h * score, 1, index)


# --------------------------------------------------------------------------------------------
# Whole model


class AASIST(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        filts = config["filts"]
        gat0, gat1 = config["gat_dims"]
        ratios = config["pool_ratios"]
        temps = config["temperatures"]
        last = filts[-1][-1]

        self.conv_time = SincFilterbank(filts[0], config["first_conv"], SAMPLE_RATE)  # (B, T) -> (B, 70, T - 128)
        self.first_bn = nn.BatchNorm2d(1)
        block_channels = [filts[1], filts[2], filts[3], filts[4], filts[4], filts[4]]
        # nested Sequentials only to reproduce the checkpoint's key names (encoder.<i>.0.*)
        self.encoder = nn.Sequential(
            *[nn.Sequential(ResidualBlock(c, first=(i == 0))) for i, c in enumerate(block_channels)]
        )

        # 23 spectral nodes: 70 sinc bands max-pooled by 3
        self.pos_S = nn.Parameter(torch.randn(1, 23, last))
        self.master1 = nn.Parameter(torch.randn(1, 1, gat0))
        self.master2 = nn.Parameter(torch.randn(1, 1, gat0))

        self.GAT_layer_S = GraphAttentionLayer(last, gat0, temps[0])
        self.GAT_layer_T = GraphAttentionLayer(last, gat0, temps[1])
        self.HtrgGAT_layer_ST11 = HtrgGraphAttentionLayer(gat0, gat1, temps[2])
        self.HtrgGAT_layer_ST12 = HtrgGraphAttentionLayer(gat1, gat1, temps[2])
        self.HtrgGAT_layer_ST21 = HtrgGraphAttentionLayer(gat0, gat1, temps[2])
        self.HtrgGAT_layer_ST22 = HtrgGraphAttentionLayer(gat1, gat1, temps[2])

        self.pool_S = GraphPool(ratios[0], gat0)
        self.pool_T = GraphPool(ratios[1], gat0)
        # ratios[3] is unused by the published model: all four HS-GAL pools use ratios[2]
        self.pool_hS1 = GraphPool(ratios[2], gat1)
        self.pool_hT1 = GraphPool(ratios[2], gat1)
        self.pool_hS2 = GraphPool(ratios[2], gat1)
        self.pool_hT2 = GraphPool(ratios[2], gat1)

        self.out_layer = nn.Linear(5 * gat1, 2)

    def _branch(self, t, s, master, first, second, pool_s, pool_t):
        t1, s1, m1 = first(t, s, master)
        s1 = pool_s(s1)
        t1 = pool_t(t1)
        t2, s2, m2 = second(t1, s1, m1)
        return t1 + t2, s1 + s2, m1 + m2

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, 64600) waveform -> (B, 2) logits [spoof, bona fide]."""
        if wave.dim() != 2 or int(wave.shape[1]) != NB_SAMP:
            raise ValueError(f"AASIST expects (batch, {NB_SAMP}) waveforms, got {tuple(wave.shape)}")
        x = self.conv_time(wave).unsqueeze(1)  # (B, 1, 70, T')
        x = F.max_pool2d(torch.abs(x), kernel_size=(3, 3))
        x = F.selu(self.first_bn(x))
        e = torch.abs(self.encoder(x))  # (B, C, 23 bands, 29 frames)

        spectral = e.amax(dim=3).transpose(1, 2) + self.pos_S  # (B, 23, C)
        temporal = e.amax(dim=2).transpose(1, 2)  # (B, 29, C)
        out_S = self.pool_S(self.GAT_layer_S(spectral))
        out_T = self.pool_T(self.GAT_layer_T(temporal))

        t1, s1, m1 = self._branch(out_T, out_S, self.master1, self.HtrgGAT_layer_ST11,
                                  self.HtrgGAT_layer_ST12, self.pool_hS1, self.pool_hT1)
        t2, s2, m2 = self._branch(out_T, out_S, self.master2, self.HtrgGAT_layer_ST21,
                                  self.HtrgGAT_layer_ST22, self.pool_hS2, self.pool_hT2)
        t = torch.maximum(t1, t2)
        s = torch.maximum(s1, s2)
        m = torch.maximum(m1, m2)

        readout = torch.cat(
            [t.abs().amax(dim=1), t.mean(dim=1), s.abs().amax(dim=1), s.mean(dim=1), m.squeeze(1)], dim=1
        )
        return self.out_layer(readout)


def build_model(variant: str) -> AASIST:
    if variant not in CONFIGS:
        raise ValueError(f"unknown AASIST variant {variant!r}; expected one of {sorted(CONFIGS)}")
    return AASIST(CONFIGS[variant]).eval()


def load_official(variant: str, checkpoint: str) -> AASIST:
    """Build the variant and load a checkpoint safely (weights_only) with strict key checking."""
    return load_state_dict(build_model(variant), checkpoint)
