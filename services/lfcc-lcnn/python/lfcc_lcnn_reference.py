"""Our PyTorch implementation of Xin Wang's (NII) LFCC-LCNN spoofing countermeasure (LCNN after
Lavrentyeva et al., Interspeech 2019; LFCC after Sahidullah et al., Interspeech 2015; see also Wang and
Yamagishi, Interspeech 2021, arXiv:2103.11326), written from reading
nii-yamagishilab/project-NN-Pytorch-scripts (BSD-3-Clause) at commit
ac488e4711274aa2138253bd20ebec36d27e1052: project/02-asvspoof/lfcc-lcnn-{sigmoid,a-softmax}/model.py,
sandbox/util_frontend.py (LFCC, delta), sandbox/block_nn.py (MaxFeatureMap2D), core_modules/a_softmax.py
(AngleLayer) and the inference loop of core_scripts.

Module and parameter names follow the published trained_network.pt state_dicts so that both load with
strict=True. Only inference is implemented (dropout is an identity in eval mode).

Front end, per utterance (whole clip), exactly as upstream:
  1. pre-emphasis y[0] = x[0], y[n] = x[n] - 0.97 x[n-1] (float32);
  2. torch.stft: n_fft 512, hop 160, win_length 320, periodic Hamming window (zero-padded to 512 in the
     middle), center=True with *zero* padding (pad_mode="constant"): T = N // 160 + 1 frames;
  3. power spectrum |X|^2 (computed upstream as norm(.)^2), 257 bins;
  4. 20 linear triangular filters (stored in the checkpoint as m_frontend.0.lfcc_fb), log10(. + eps32);
  5. DCT-II, orthonormal (stored in the checkpoint as m_frontend.0.l_dct.weight);
  6. with_energy=True: coefficient 0 is replaced by log10(sum_k |X_k|^2 / 512 + eps32);
  7. delta d[t] = c[t+1] - c[t-1] with the first/last frame replicated; delta-delta = delta of delta;
     output (1, T, 60) = [c, delta, delta-delta].
No mean/variance normalisation (input_mean 0 / input_std 1 are stored but never applied).

Frame selection (upstream Model._front_end, also at evaluation): with n = N // 160 "true" frames,
  n <= 750: frames 0..n-1 are tiled (repeated) until 750 frames, i.e. frame i -> i % n;
  n > 750: a RANDOM 750-frame crop [pos, pos + 750), pos = floor(U[0,1) * (n - 750)).
We replace the random crop by deterministic windows (reference_scores.plan_windows); the network itself
only accepts exactly 750 frames (its first linear layer has (750 // 16) * (60 // 16) * 32 = 4416 inputs),
so there is no length-dependent pooling and no recurrent layer.

Network: LCNN of 9 convolutions with Max-Feature-Map activations (channel halves, elementwise max),
4 max-pools, BatchNorm without affine parameters -> flatten (32 x 46 x 3) -> linear 4416->160 -> MFM ->
linear 80->1 (sigmoid variant, a logit: sigmoid(logit) = P(bona fide), target 1 = bona fide) or
80->2 + AngleLayer (a-softmax variant: cos(theta) to the two class vectors [spoof, bona fide]; upstream's
score is softmax(cos)[:, 1]).
"""
from __future__ import annotations

import os
import sys
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

# Shared pieces (sdk/python): loading the checkpoint safely, P(fake) from two scores.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from deepsafe_audio import p_fake  # noqa: E402
from deepsafe_weights import load_state_dict  # noqa: E402

SAMPLE_RATE = 16000
FRAME_LENGTH = 320
FRAME_SHIFT = 160
FFT_POINTS = 512
N_FILTERS = 20
FEATURE_DIM = 3 * N_FILTERS  # static + delta + delta-delta
WINDOW_FRAMES = 10 * 16 * 750 // FRAME_SHIFT  # 750: upstream v_truncate_lens
PRE_EMPHASIS = 0.97
EPS32 = float(torch.finfo(torch.float32).eps)

VARIANTS: Dict[str, dict] = {
    # out_dim: width of the last linear layer; angle: AngleLayer head (a-softmax)
    "sigmoid": {"out_dim": 1, "angle": False},
    "a-softmax": {"out_dim": 2, "angle": True},
}


# --------------------------------------------------------------------------------------------
# LFCC front end


def triangular_filterbank(n_fft: int = FFT_POINTS, n_filters: int = N_FILTERS, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """(n_fft//2+1, n_filters) linear-frequency triangles with edges equally spaced from 0 Hz to Nyquist
    (Matlab trimf semantics: 1 at the centre, linear in between, 0 at and outside the edges).
    Only used to check the stored m_frontend.0.lfcc_fb; the checkpoint's copy is what the model uses."""
    f = (sr / 2) * torch.linspace(0, 1, n_fft // 2 + 1)
    edges = torch.linspace(float(f.min()), float(f.max()), n_filters + 2)
    bank = torch.zeros(n_fft // 2 + 1, n_filters)
    for j in range(n_filters):
        a, b, c = edges[j], edges[j + 1], edges[j + 2]
        rising = (f > a) & (f < b)
        falling = (f > b) & (f < c)
        bank[rising, j] = (f[rising] - a) / (b - a)
        bank[falling, j] = (c - f[falling]) / (c - b)
        bank[f == b, j] = 1.0
    return bank


def dct2_ortho(n: int = N_FILTERS) -> torch.Tensor:
    """(n, n) orthonormal DCT-II matrix C, y = C x (float64 -> float32). Used to check the stored
    m_frontend.0.l_dct.weight."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    c = np.sqrt(2.0 / n) * np.cos(np.pi * k * (2 * i + 1) / (2 * n))
    c[0] /= np.sqrt(2.0)
    return torch.from_numpy(c.astype(np.float32))


def delta(x: torch.Tensor) -> torch.Tensor:
    """(B, T, D) -> (B, T, D): x[t+1] - x[t-1] along time with the edge frames replicated."""
    padded = torch.cat([x[:, :1], x, x[:, -1:]], dim=1)
    return padded[:, 2:] - padded[:, :-2]


class LFCC(nn.Module):
    """Upstream's LFCC. stft_dtype=torch.float32 reproduces upstream bit for bit (checked against its code);
    torch.float64 computes only the STFT and |X|^2 in float64 (everything else stays float32).

    Why float64 exists: upstream's float32 FFT is accurate to ~1e-7 of a frame's largest bin, so bins far
    below it (the empty bands of a pure tone, near the 16-bit noise floor) carry relative errors up to
    ~1e-2, which the log10, the deltas and this very confident network turn into logit changes of a
    few 1e-4 (measured: 2.7e-4 between the float32 and float64 STFT on a 16-bit 440 Hz tone, logit
    -141). Upstream's own scores therefore depend on the FFT library at that level; the exported graph
    computes the DFT in float64, and the parity reference does the same."""

    def __init__(self, stft_dtype: torch.dtype = torch.float32):
        super().__init__()
        self.stft_dtype = stft_dtype
        # Filled from the checkpoint (m_frontend.0.*); initialised to the formula for random fixtures.
        self.lfcc_fb = nn.Parameter(triangular_filterbank(), requires_grad=False)
        self.l_dct = nn.Linear(N_FILTERS, N_FILTERS, bias=False)
        self.l_dct.weight.data.copy_(dct2_ortho())
        self.l_dct.weight.requires_grad_(False)
        # upstream computes the window in float32; the float64 STFT uses a float64 window
        self.register_buffer("window32", torch.hamming_window(FRAME_LENGTH), persistent=False)
        self.register_buffer("window64", torch.hamming_window(FRAME_LENGTH, dtype=torch.float64), persistent=False)

    def power_spectrum(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, N) pre-emphasised waveform -> (B, T, 257) |STFT|^2, as upstream computes it."""
        dtype = self.stft_dtype
        window = self.window64 if dtype == torch.float64 else self.window32
        spec = torch.stft(wave.to(dtype), FFT_POINTS, FRAME_SHIFT, FRAME_LENGTH, window=window,
                          center=True, pad_mode="constant", onesided=True, return_complex=True)
        power = torch.norm(torch.view_as_real(spec), 2, -1).pow(2).transpose(1, 2).contiguous()
        return power.to(torch.float32)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, N) waveform in [-1, 1] -> (B, N // 160 + 1, 60) LFCC + delta + delta-delta."""
        emphasised = torch.cat([wave[:, :1], wave[:, 1:] - PRE_EMPHASIS * wave[:, :-1]], dim=1)
        power = self.power_spectrum(emphasised)
        cep = self.l_dct(torch.log10(torch.matmul(power, self.lfcc_fb) + EPS32))
        energy = torch.log10((power / FFT_POINTS).sum(dim=2) + EPS32)
        static = torch.cat([energy.unsqueeze(2), cep[:, :, 1:]], dim=2)
        d1 = delta(static)
        return torch.cat([static, d1, delta(d1)], dim=2)


# --------------------------------------------------------------------------------------------
# LCNN


class MaxFeatureMap(nn.Module):
    """Elementwise max of the first and second half of the channels (dim 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = x.shape[1] // 2
        return torch.maximum(x[:, :half], x[:, half:])


def _lcnn_body() -> nn.Sequential:
    """The convolutional stack; indices reproduce the checkpoint's m_transform.0.<i>.* keys."""
    def bn(c: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(c, affine=False)

    pool = lambda: nn.MaxPool2d(2, 2)  # noqa: E731
    return nn.Sequential(
        nn.Conv2d(1, 64, 5, padding=2), MaxFeatureMap(), pool(),                   # 0-2
        nn.Conv2d(32, 64, 1), MaxFeatureMap(), bn(32),                              # 3-5
        nn.Conv2d(32, 96, 3, padding=1), MaxFeatureMap(), pool(), bn(48),           # 6-9
        nn.Conv2d(48, 96, 1), MaxFeatureMap(), bn(48),                              # 10-12
        nn.Conv2d(48, 128, 3, padding=1), MaxFeatureMap(), pool(),                  # 13-15
        nn.Conv2d(64, 128, 1), MaxFeatureMap(), bn(64),                             # 16-18
        nn.Conv2d(64, 64, 3, padding=1), MaxFeatureMap(), bn(32),                   # 19-21
        nn.Conv2d(32, 64, 1), MaxFeatureMap(), bn(32),                              # 22-24
        nn.Conv2d(32, 64, 3, padding=1), MaxFeatureMap(), pool(),                   # 25-27
    )


class AngleHead(nn.Module):
    """A-softmax output layer at inference: cos(theta) between the embedding and each class vector."""

    def __init__(self, in_dim: int, n_classes: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_dim, n_classes).uniform_(-1, 1))

    def class_vectors(self) -> torch.Tensor:
        # upstream: weight.renorm(2, 1, 1e-5).mul(1e5) -> unit-norm columns
        return self.weight.renorm(2, 1, 1e-5).mul(1e5)

    def forward(self, x: torch.Tensor, class_vectors: Optional[torch.Tensor] = None) -> torch.Tensor:
        w = self.class_vectors() if class_vectors is None else class_vectors
        x_norm = x.pow(2).sum(1).pow(0.5)
        w_norm = w.pow(2).sum(0).pow(0.5)
        return (x.mm(w) / x_norm.view(-1, 1) / w_norm.view(1, -1)).clamp(-1, 1)


class LfccLcnn(nn.Module):
    def __init__(self, variant: str = "sigmoid", stft_dtype: torch.dtype = torch.float32):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
        self.variant = variant
        out_dim = VARIANTS[variant]["out_dim"]
        # stored by upstream's framework, never applied by this model
        for name, value in (("input_mean", 0.0), ("input_std", 1.0), ("output_mean", 0.0), ("output_std", 1.0)):
            setattr(self, name, nn.Parameter(torch.full((1,), value), requires_grad=False))
        self.m_frontend = nn.ModuleList([LFCC(stft_dtype)])
        self.m_transform = nn.ModuleList([_lcnn_body()])
        flat = (WINDOW_FRAMES // 16) * (FEATURE_DIM // 16) * 32
        self.m_output_act = nn.ModuleList([nn.Sequential(
            nn.Dropout(0.7), nn.Linear(flat, 160), MaxFeatureMap(), nn.Linear(80, out_dim))])
        if VARIANTS[variant]["angle"]:
            self.m_a_softmax = nn.ModuleList([AngleHead(out_dim, 2)])

    def features(self, wave: torch.Tensor) -> torch.Tensor:
        """(1, N) whole clip -> (1, N // 160 + 1, 60)."""
        return self.m_frontend[0](wave)

    def classify(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, 750, 60) -> sigmoid: (B, 1) logit of bona fide; a-softmax: (B, 2) cos [spoof, bona fide]."""
        if feats.dim() != 3 or tuple(feats.shape[1:]) != (WINDOW_FRAMES, FEATURE_DIM):
            raise ValueError(f"expected (batch, {WINDOW_FRAMES}, {FEATURE_DIM}) features, got {tuple(feats.shape)}")
        hidden = self.m_transform[0](feats.unsqueeze(1))
        out = self.m_output_act[0](torch.flatten(hidden, 1))
        if self.variant == "a-softmax":
            out = self.m_a_softmax[0](out)
        return out

    def forward(self, wave: torch.Tensor, crop_start: int = 0) -> torch.Tensor:
        """One utterance the upstream way: (1, N) -> network output of its 750-frame selection
        (tiled when short; for long ones the crop starting at crop_start, where upstream picks at random)."""
        feats = self.features(wave)
        index = torch.as_tensor(utterance_frames(int(wave.shape[1]), crop_start))
        return self.classify(feats[:, index])


def build_model(variant: str, stft_dtype: torch.dtype = torch.float32) -> LfccLcnn:
    return LfccLcnn(variant, stft_dtype).eval()


def load_official(variant: str, checkpoint: str, stft_dtype: torch.dtype = torch.float32) -> LfccLcnn:
    """Build the variant and load a checkpoint safely (weights_only) with strict key checking."""
    return load_state_dict(LfccLcnn(variant, stft_dtype), checkpoint)


# --------------------------------------------------------------------------------------------
# Frame selection


def utterance_frames(n_samples: int, crop_start: int = 0) -> List[int]:
    """Upstream's 750 frame indices for one utterance of n_samples (deterministic crop position)."""
    usable = n_samples // FRAME_SHIFT
    if usable <= 0:
        raise ValueError(f"an utterance of {n_samples} samples has no complete frame shift")
    if usable <= WINDOW_FRAMES:
        return [i % usable for i in range(WINDOW_FRAMES)]
    if not 0 <= crop_start <= usable - WINDOW_FRAMES:
        raise ValueError(f"crop start {crop_start} outside [0, {usable - WINDOW_FRAMES}]")
    return list(range(crop_start, crop_start + WINDOW_FRAMES))


def probability_fake(variant: str, out: List[float]) -> float:
    """P(fake) from one window's network output, in float64: sigmoid → out[0] is the logit of bona fide, so
    P(fake) = 1 - sigmoid(z) = sigmoid(-z); a-softmax → softmax(cos)[spoof] (p_fake of sdk/python/deepsafe_audio.py)."""
    return p_fake(-out[0], 0.0) if variant == "sigmoid" else p_fake(out[0], out[1])
