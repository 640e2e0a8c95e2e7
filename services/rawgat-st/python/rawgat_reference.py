"""Our PyTorch implementation of RawGAT-ST (Tak, Jung, Patino, Kamble, Todisco, Evans, "End-to-end
spectro-temporal graph attention networks for speaker verification anti-spoofing and speech deepfake
detection", ASVspoof 2021 workshop, arXiv:2107.12710), written from reading
eurecom-asp/RawGAT-ST-antispoofing (MIT, commit e3b049f79b3cd9552e66f6d0ba844cbb9399c479): model.py
(the "mul" fusion), RawGAT_models/model_RawGAT_ST_{add,concat}.py and model_config_RawGAT_ST.yaml.

Module and parameter names follow the published checkpoints so that every Best_epoch.pth loads with
strict=True. Only inference is implemented: dropout and the training-time sinc-channel mask are
identities in eval mode and are left out.

Input: (batch, 64600) float32 waveform, 16 kHz mono, not normalised. Output: (batch, 2) logits
ordered [spoof, bona fide]; upstream's evaluation score is logits[:, 1]; P(fake) = softmax[:, 0].

Behaviours of the released model reproduced on purpose (the weights were trained with them):
  * Residual blocks after the first compute bn1 + SELU of their input and discard it: conv1 reads the
    block input. bn1 (and the conv_1 that every block builds) are loaded but unused.
  * The first residual block has one input channel and 32 output channels and no projection, so its
    skip connection broadcasts the single input channel over all 32.
  * Graph attention has no temperature (unlike AASIST): softmax over neighbours j of the (B, N, N, 1)
    energies (upstream dim=-2), energies from pairwise products x_i * x_j, no self-loop masking.
  * Graph pooling keeps max(2, int(N * ratio)) nodes, IN DESCENDING ORDER OF SCORE, and the next
    linear layers (proj1, proj2, proj_node) mix the kept nodes by position, so node order matters.
  * The sinc front end is a fixed mel-spaced band-pass filterbank computed in code (not a parameter,
    not in the state_dict), with the same float32/float64 steps as upstream (bit-identical taps;
    sdk/python/sincconv.py, shared with AASIST).
"""
from __future__ import annotations

import os
import sys
from typing import Dict

import torch
import torch.nn as nn
import torch.nn.functional as F

# Shared pieces (sdk/python): loading the checkpoint safely, and the sinc front end, identical in our
# AASIST and RawGAT-ST references.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from deepsafe_weights import load_state_dict  # noqa: E402
from sincconv import SincFilterbank  # noqa: E402

SAMPLE_RATE = 16000
NB_SAMP = 64600  # model_config nb_samp; the only input length the exported graph supports
N_SINC = 70  # out_channels
FIRST_CONV = 128  # first_conv (forced odd: 129 taps)
# filts: [32, [32, 32], [32, 64], [64, 64]]; encoder blocks use filts[1], filts[1], filts[2], filts[3] x3
ENCODER_CHANNELS = [(32, 32), (32, 32), (32, 64), (64, 64), (64, 64), (64, 64)]

# Fusion of the spectral and temporal graphs; "mul" is upstream model.py (the best model, served by default).
VARIANTS = ("mul", "add", "cat")
# (GAT_layer3 in, GAT_layer3 out) per variant; cat stacks the two 32-dim graphs into 64 features.
GAT3_DIMS: Dict[str, tuple] = {"mul": (32, 16), "add": (32, 16), "cat": (64, 32)}


# --------------------------------------------------------------------------------------------
# Encoder


class ResidualBlock(nn.Module):
    """2-D residual block over (sinc band, time), then max-pooling time by 3.

    The first block reads the 1-channel map with conv_1; later blocks read their input with conv1.
    Every block owns a conv_1 (1 -> out) and every later block a bn1; neither affects the output.
    """

    def __init__(self, c_in: int, c_out: int, first: bool):
        super().__init__()
        self.first = first
        if not first:
            self.bn1 = nn.BatchNorm2d(c_in)  # unused, see module docstring
            self.conv1 = nn.Conv2d(c_in, c_out, kernel_size=(2, 3), padding=(1, 1))
        self.conv_1 = nn.Conv2d(1, c_out, kernel_size=(2, 3), padding=(1, 1))  # used by the first block only
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, kernel_size=(2, 3), padding=(0, 1))
        self.project = c_in != c_out
        if self.project:
            self.conv_downsample = nn.Conv2d(c_in, c_out, kernel_size=(1, 3), padding=(0, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_1(x) if self.first else self.conv1(x)  # (B, out, F + 1, T)
        y = self.conv2(F.selu(self.bn2(y)))  # (B, out, F, T)
        skip = self.conv_downsample(x) if self.project else x  # broadcasts 1 -> 32 channels in block 0
        return F.max_pool2d(y + skip, kernel_size=(1, 3))


# --------------------------------------------------------------------------------------------
# Graph layers


class GraphAttentionLayer(nn.Module):
    """Graph attention over a fully connected graph of N nodes: (B, N, in) -> (B, N, out)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.att_proj = nn.Linear(in_dim, out_dim)
        self.att_weight = nn.Parameter(torch.empty(out_dim, 1))
        nn.init.xavier_normal_(self.att_weight)
        self.proj_with_att = nn.Linear(in_dim, out_dim)
        self.proj_without_att = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pairs = x.unsqueeze(2) * x.unsqueeze(1)  # (B, N, N, in), [b, i, j] = x_i * x_j
        energy = torch.matmul(torch.tanh(self.att_proj(pairs)), self.att_weight).squeeze(-1)  # (B, N, N)
        attention = torch.softmax(energy, dim=-1)  # row i over neighbours j (upstream dim=-2 before squeeze)
        y = self.proj_with_att(torch.matmul(attention, x)) + self.proj_without_att(x)
        b, n, d = y.shape
        y = self.bn(y.reshape(b * n, d)).reshape(b, n, d)
        return F.selu(y)


class GraphPool(nn.Module):
    """Score nodes with sigmoid(linear), scale every node by its score, keep the max(2, int(N * ratio))
    best in descending score order: (B, N, D) -> (B, K, D).

    K depends on the static N (tracing freezes it), hence the fixed-length export. Ranking uses the
    pre-sigmoid projection: sigmoid is monotonic, so the order is upstream's wherever upstream's is
    defined, and saturated sigmoid scores (exact float32 ties, whose order torch and onnxruntime
    would break differently) keep a well-defined order.
    """

    def __init__(self, ratio: float, dim: int):
        super().__init__()
        self.ratio = ratio
        self.proj = nn.Linear(dim, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        n, d = int(h.shape[1]), int(h.shape[2])
        keep = max(2, int(self.ratio * n))
        logit = self.proj(h)  # (B, N, 1)
        index = torch.topk(logit, keep, dim=1).indices.expand(-1, -1, d)
        return torch.gather(h * torch.sigmoid(logit), 1, index)


# --------------------------------------------------------------------------------------------
# Whole model


class RawGATST(nn.Module):
    def __init__(self, variant: str = "mul"):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown RawGAT-ST variant {variant!r}; expected one of {VARIANTS}")
        self.variant = variant
        self.conv_time = SincFilterbank(N_SINC, FIRST_CONV, SAMPLE_RATE)  # (B, T) -> (B, 70, T - 128)
        self.first_bn = nn.BatchNorm2d(1)
        # nested Sequentials only to reproduce the checkpoint key names (encoder1.<i>.0.*)
        self.encoder1 = nn.Sequential(
            *[nn.Sequential(ResidualBlock(a, b, first=(i == 0))) for i, (a, b) in enumerate(ENCODER_CHANNELS)]
        )
        self.encoder2 = nn.Sequential(
            *[nn.Sequential(ResidualBlock(a, b, first=(i == 0))) for i, (a, b) in enumerate(ENCODER_CHANNELS)]
        )
        feat = ENCODER_CHANNELS[-1][1]
        g3_in, g3_out = GAT3_DIMS[variant]
        self.GAT_layer1 = GraphAttentionLayer(feat, 32)  # spectral: 23 band nodes
        self.pool1 = GraphPool(0.64, 32)  # 23 -> 14
        self.GAT_layer2 = GraphAttentionLayer(feat, 32)  # temporal: 29 frame nodes
        self.pool2 = GraphPool(0.81, 32)  # 29 -> 23
        self.GAT_layer3 = GraphAttentionLayer(g3_in, g3_out)  # spectro-temporal: 12 nodes
        self.pool3 = GraphPool(0.64, g3_out)  # 12 -> 7
        self.proj1 = nn.Linear(14, 12)  # spectral node axis 14 -> 12
        self.proj2 = nn.Linear(23, 12)  # temporal node axis 23 -> 12
        self.proj = nn.Linear(g3_out, 1)  # per-node readout
        self.proj_node = nn.Linear(7, 2)  # 7 kept nodes -> [spoof, bona fide]

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, 64600) waveform -> (B, 2) logits [spoof, bona fide]."""
        if wave.dim() != 2 or int(wave.shape[1]) != NB_SAMP:
            raise ValueError(f"RawGAT-ST expects (batch, {NB_SAMP}) waveforms, got {tuple(wave.shape)}")
        x = self.conv_time(wave).unsqueeze(1)  # (B, 1, 70, 64472)
        x = F.max_pool2d(torch.abs(x), kernel_size=(3, 3))  # (B, 1, 23, 21490)
        x = F.selu(self.first_bn(x))

        e1 = self.encoder1(x)  # (B, 64, 23, 29)
        spectral = torch.abs(e1).amax(dim=3).transpose(1, 2)  # (B, 23 bands, 64)
        s = self.pool1(self.GAT_layer1(spectral))  # (B, 14, 32)
        out1 = self.proj1(s.transpose(1, 2))  # (B, 32, 12)

        e2 = self.encoder2(x)  # (B, 64, 23, 29)
        temporal = torch.abs(e2).amax(dim=2).transpose(1, 2)  # (B, 29 frames, 64)
        t = self.pool2(self.GAT_layer2(temporal))  # (B, 23, 32)
        out2 = self.proj2(t.transpose(1, 2))  # (B, 32, 12)

        if self.variant == "mul":
            fused = out1 * out2
        elif self.variant == "add":
            fused = out1 + out2
        else:
            fused = torch.cat([out1, out2], dim=1)  # (B, 64, 12)

        g = self.pool3(self.GAT_layer3(fused.transpose(1, 2)))  # (B, 7, 16 | 32)
        return self.proj_node(self.proj(g).squeeze(-1))  # (B, 2)


def build_model(variant: str = "mul") -> RawGATST:
    return RawGATST(variant).eval()


def load_official(variant: str, checkpoint: str) -> RawGATST:
    """Build the variant and load a checkpoint safely (weights_only) with strict key checking."""
    return load_state_dict(build_model(variant), checkpoint)
