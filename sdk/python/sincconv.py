"""The fixed sinc band-pass filterbank front end shared by our AASIST and RawGAT-ST references.

Both upstream models (clovaai/aasist models/AASIST.py CONV, and eurecom-asp/RawGAT-ST-antispoofing
model.py SincConv, both derived from the RawNet2 SincConv) build the same filterbank: a mel-spaced
band-pass bank computed in code, not a parameter and not in the state_dict. The published checkpoints
of both use 70 filters of 128 taps (forced odd: 129) at 16 kHz; the filters computed here are
bit-identical to upstream's (same float32/float64 steps), which the services' parity tests and
services/rawgat-st/python/compare_upstream.py rely on.

Services import it by putting <repo>/sdk/python on sys.path, relative to their own __file__.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SAMPLE_RATE = 16000


def hz_to_mel(hz):
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def sinc_filterbank(n_filters: int, kernel_size: int, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """(n_filters, 1, K) float32 Hamming-windowed ideal band-pass filters, K forced odd.

    Band edges: n_filters + 1 points equally spaced on the mel scale between the mel values of the
    lowest and highest bins of a 512-point FFT (0 Hz and Nyquist). Filter i is the difference of two
    ideal low-pass responses (2 f / fs) sinc(2 f t / fs) at edges i+1 and i, times a Hamming window.
    Precision follows the upstream computation: tap positions and sinc arguments in float32 (torch),
    band edges in float64, the band-pass response and the window product rounded to float32.
    """
    k = kernel_size + 1 if kernel_size % 2 == 0 else kernel_size
    half = (k - 1) / 2
    taps = torch.arange(-half, half + 1)  # float32, symmetric around 0
    fft_bins = (sample_rate // 2) * np.linspace(0.0, 1.0, 512 // 2 + 1)
    mels = hz_to_mel(fft_bins)
    edges_hz = mel_to_hz(np.linspace(mels.min(), mels.max(), n_filters + 1))  # float64
    window = torch.from_numpy(np.hamming(k).astype(np.float32))

    def lowpass(cutoff: np.float64) -> np.ndarray:
        # (2 fc / fs) * sinc(2 fc t / fs): a float64 scalar times a float32 tensor stays float32 in
        # torch, and np.sinc keeps float32, as in the reference implementation
        arg = (taps * float(2.0 * cutoff) / sample_rate).numpy()
        return np.float32(2.0 * cutoff / sample_rate) * np.sinc(arg)

    bank = torch.zeros(n_filters, k)
    for i in range(n_filters):
        band = lowpass(edges_hz[i + 1]) - lowpass(edges_hz[i])
        bank[i] = window * torch.from_numpy(band.astype(np.float32))
    return bank.unsqueeze(1)


class SincFilterbank(nn.Module):
    """conv1d of a (B, T) waveform with the fixed filterbank: (B, T) -> (B, n_filters, T - K + 1)."""

    def __init__(self, n_filters: int, kernel_size: int, sample_rate: int = SAMPLE_RATE):
        super().__init__()
        # A buffer that is not saved: the checkpoints do not carry it (strict loading stays exact).
        self.register_buffer("filters", sinc_filterbank(n_filters, kernel_size, sample_rate), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return F.conv1d(wave.unsqueeze(1), self.filters)
