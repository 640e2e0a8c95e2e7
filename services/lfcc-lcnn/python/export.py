"""Convert an official LFCC-LCNN checkpoint (nii-yamagishilab/project-NN-Pytorch-scripts, BSD-3-Clause)
to two ONNX graphs:

    python3 export.py --variant sigmoid --checkpoint /mirror/nii_lfcc_lcnn/lfcc-lcnn-sigmoid/trained_network.pt --out DIR
    python3 export.py --variant a-softmax --random-seed 7 --out /tmp/fixture   # random weights, same layout

<out>/frontend.onnx  input "segment" float32 [1, 160 (K + 1)]: pre-emphasised, zero-padded samples of K frames
                     -> output "static" float32 [1, K, 20] = [log energy, c1 .. c19] per frame
<out>/model.onnx     input "features" float32 [1, 750, 60] (one window: static, delta, delta-delta)
                     -> output "logits": sigmoid [1, 1] = logit of bona fide;
                        a-softmax [1, 2] = cos(theta) to [spoof, bona fide]
<out>/provenance.json

Where the front end lives: the per-frame work (DFT, power, filter bank, log10, DCT, energy) is in ONNX;
torch.stft does not export reliably from torch 1.13, so the DFT is a float64 MatMul of the framed
samples with the Hamming-windowed DFT basis. The service does the parts that are pure indexing or
one float32 operation per value (pre-emphasis, zero padding, delta, delta-delta, choosing the 750 frames
of a window) in src/lfcc.ts, so a clip is processed in bounded chunks and only the frames its windows
need are computed. The checkpoint's sha256 must equal the pinned value of the published file; anything
else is refused before torch reads it.
"""
from __future__ import annotations

import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from deepsafe_weights import (  # noqa: E402
    export_argument_parser, sha256_of, source_model, verify_checkpoint as verify_pinned, write_provenance,
)
from lfcc_lcnn_reference import (  # noqa: E402
    EPS32, FEATURE_DIM, FFT_POINTS, FRAME_LENGTH, FRAME_SHIFT, N_FILTERS, WINDOW_FRAMES, LfccLcnn, build_model,
    load_official,
)

UPSTREAM_REPO = "nii-yamagishilab/project-NN-Pytorch-scripts"
UPSTREAM_COMMIT = "ac488e4711274aa2138253bd20ebec36d27e1052"
LICENSE = "BSD-3-Clause (Copyright (c) 2022, Xin Wang, National Institute of Informatics)"

# Published checkpoints, pinned by sha256 (removed from the repository's HEAD later; they exist in history).
OFFICIAL = {
    "sigmoid": {
        "sha256": "703a4f84a4cce6b55d366ec13cb3fdec705062028e4538b9abe71678e9481b77",
        "bytes": 3498189,
        "folder": "lfcc-lcnn-sigmoid",
    },
    "a-softmax": {
        "sha256": "46f06c0d3c19191a65764c2857ef34e44445c192db62ef2b597c6a10f8c8c066",
        "bytes": 3498966,
        "folder": "lfcc-lcnn-a-softmax",
    },
}


def repo_path(variant: str) -> str:
    return f"project/02-asvspoof/{OFFICIAL[variant]['folder']}/__pretrained/trained_network.pt"


def public_url(variant: str) -> str:
    return f"https://github.com/{UPSTREAM_REPO}/raw/{UPSTREAM_COMMIT}/{repo_path(variant)}"


def verify_checkpoint(variant: str, path: str) -> str:
    return verify_pinned(path, OFFICIAL[variant]["sha256"], f"lfcc-lcnn {variant}", public_url(variant))


# --------------------------------------------------------------------------------------------
# Exportable front end


def dft_basis() -> torch.Tensor:
    """(320, 514) float64: columns 0..256 = w[n] cos(2 pi k (n + 96) / 512), columns 257..513 =
    -w[n] sin(2 pi k (n + 96) / 512), w = periodic Hamming(320) in float64, 96 = (512 - 320) / 2 (torch.stft
    centres the shorter window inside n_fft; the offset only rotates the phase, not |X|^2)."""
    offset = (FFT_POINTS - FRAME_LENGTH) // 2
    n = np.arange(FRAME_LENGTH, dtype=np.float64)[:, None]
    window = torch.hamming_window(FRAME_LENGTH, dtype=torch.float64).numpy()[:, None]
    k = np.arange(FFT_POINTS // 2 + 1, dtype=np.float64)[None, :]
    phase = 2.0 * np.pi * ((k * (n + offset)) % FFT_POINTS) / FFT_POINTS
    return torch.from_numpy(np.concatenate([window * np.cos(phase), -window * np.sin(phase)], axis=1))


class ExportFrontEnd(nn.Module):
    """Static LFCC of K consecutive frames, for ONNX.

    Input (1, 160 (K + 1)) float32: the pre-emphasised clip with 160 zeros added in front and behind
    (torch.stft's centre padding, as far as the 320 non-zero window taps reach), starting at sample
    160 a of that padded signal, for frames a .. a + K - 1. Output (1, K, 20) = [log energy, c1 .. c19].
    Frame t is padded[160 t : 160 t + 320] = blocks t and t + 1 of 160 samples. The DFT is one float64
    MatMul (upstream's float32 FFT is only accurate to ~1e-7 of a frame's peak bin, which moves the
    logits of tonal input by up to ~3e-4; see the model card); the power is rounded to float32 and the
    rest is upstream's float32 arithmetic: filter bank, log10(. + eps), DCT, energy replacing c0.
    Pre-emphasis, padding, framing into windows and the deltas are done by the service (src/lfcc.ts)."""

    def __init__(self, model: LfccLcnn):
        super().__init__()
        lfcc = model.m_frontend[0]
        self.register_buffer("fb", lfcc.lfcc_fb.detach().clone())
        self.register_buffer("dct_t", lfcc.l_dct.weight.detach().t().contiguous())
        self.register_buffer("basis", dft_basis())

    def forward(self, segment: torch.Tensor) -> torch.Tensor:
        blocks = segment.reshape(-1, FRAME_SHIFT)
        frames = torch.cat([blocks[:-1], blocks[1:]], dim=1)  # (K, 320)
        spec = torch.matmul(frames.to(torch.float64), self.basis)  # (K, 514)
        bins = FFT_POINTS // 2 + 1
        re, im = spec[:, :bins], spec[:, bins:]
        power = (re * re + im * im).to(torch.float32).unsqueeze(0)  # (1, K, 257)
        cep = torch.matmul(torch.log10(torch.matmul(power, self.fb) + EPS32), self.dct_t)
        energy = torch.log10((power / FFT_POINTS).sum(dim=2, keepdim=True) + EPS32)
        return torch.cat([energy, cep[:, :, 1:]], dim=2)


class ExportClassifier(nn.Module):
    """LfccLcnn.classify; the a-softmax class vectors (weight.renorm(...), which has no ONNX export) are
    computed by torch once and stored as a constant."""

    def __init__(self, model: LfccLcnn):
        super().__init__()
        self.model = model
        if model.variant == "a-softmax":
            self.register_buffer("class_vectors", model.m_a_softmax[0].class_vectors().detach().clone())

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if self.model.variant != "a-softmax":
            return self.model.classify(feats)
        hidden = self.model.m_transform[0](feats.unsqueeze(1))
        embedding = self.model.m_output_act[0](torch.flatten(hidden, 1))
        return self.model.m_a_softmax[0](embedding, self.class_vectors)


def export_graphs(model: LfccLcnn, out_dir: str, opset: int) -> None:
    frontend = ExportFrontEnd(model).eval()
    classifier = ExportClassifier(model).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(frontend, (torch.zeros(1, FRAME_SHIFT * 101),), os.path.join(out_dir, ".frontend.onnx.tmp"),
                          input_names=["segment"], output_names=["static"], opset_version=opset,
                          do_constant_folding=True, dynamic_axes={"segment": {1: "samples"}, "static": {1: "frames"}})
        torch.onnx.export(classifier, (torch.zeros(1, WINDOW_FRAMES, FEATURE_DIM),),
                          os.path.join(out_dir, ".model.onnx.tmp"), input_names=["features"],
                          output_names=["logits"], opset_version=opset, do_constant_folding=True,
                          dynamic_axes=None)  # fixed [1, 750, 60]: the first linear layer needs 750 frames
    os.replace(os.path.join(out_dir, ".frontend.onnx.tmp"), os.path.join(out_dir, "frontend.onnx"))
    os.replace(os.path.join(out_dir, ".model.onnx.tmp"), os.path.join(out_dir, "model.onnx"))


def random_fixture(variant: str) -> LfccLcnn:
    """Random weights of the variant's layout (torch already seeded), with BatchNorm statistics away from
    the identity, so a fixture exercises them too."""
    model = build_model(variant)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def main(argv=None) -> int:
    args = export_argument_parser(__doc__, sorted(OFFICIAL), "official trained_network.pt (verified against the pinned sha256)",
                                  "directory for model.onnx, frontend.onnx and provenance.json").parse_args(argv)

    torch.set_grad_enabled(False)
    source = source_model(
        args,
        verify=verify_checkpoint,
        load=load_official,
        build=random_fixture,
        url=public_url(args.variant),
        license=LICENSE,
        description=(
            f"LFCC-LCNN ({args.variant} output), official NII weights (Xin Wang) trained on ASVspoof 2019 LA; "
            "frontend.onnx: segment float32 [1,160(K+1)] -> static LFCC [1,K,20]; model.onnx: features "
            f"[1,{WINDOW_FRAMES},{FEATURE_DIM}] -> logits "
            + ("[1,1] = logit of bona fide" if args.variant == "sigmoid" else "[1,2] = cos(theta) [spoof, bona fide]")
        ),
        fixture_description=(
            f"LFCC-LCNN ({args.variant}) layout with random weights (seed {args.random_seed}) and the real "
            "LFCC front end; for tests only, its scores mean nothing"
        ),
    )
    if source is None:
        return 2
    model, provenance = source

    os.makedirs(args.out, exist_ok=True)
    export_graphs(model, args.out, args.opset)
    provenance["onnxSha256"] = sha256_of(os.path.join(args.out, "model.onnx"))
    provenance["frontendSha256"] = sha256_of(os.path.join(args.out, "frontend.onnx"))
    provenance["variant"] = args.variant
    provenance["windowFrames"] = WINDOW_FRAMES
    provenance["featureDim"] = FEATURE_DIM
    provenance["staticDim"] = N_FILTERS
    write_provenance(args.out, provenance)
    print(json.dumps({"out": args.out, **provenance}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
