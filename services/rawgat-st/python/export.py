"""Convert an official RawGAT-ST checkpoint (eurecom-asp/RawGAT-ST-antispoofing, MIT) to ONNX.

    python3 export.py --variant mul --checkpoint /mirror/rawgat_st/RawGAT_ST_mul/Best_epoch.pth --out .deepsafe/models/rawgat-st
    python3 export.py --variant mul --random-seed 7 --out /tmp/fixture   # random weights, same layout

Writes <out>/model.onnx (input "waveform" float32 [1, 64600], output "logits" float32 [1, 2] ordered
[spoof, bona fide]) and <out>/provenance.json. The checkpoint's sha256 must equal the pinned value of
the published file; anything else is refused before torch reads it.

The graph is exported at exactly 64,600 samples and batch 1: the three graph-pooling layers keep
max(2, int(N * ratio)) nodes (14 of 23, 23 of 29, 7 of 12) and the layers after them are sized for
those counts; tracing freezes them, so another length could not work and is not offered.
"""
from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from rawgat_reference import NB_SAMP, VARIANTS, build_model, load_official  # noqa: E402
from deepsafe_weights import (  # noqa: E402
    export_argument_parser, export_waveform_model, source_model, verify_checkpoint as verify_pinned,
)

UPSTREAM_REPO = "eurecom-asp/RawGAT-ST-antispoofing"
UPSTREAM_COMMIT = "e3b049f79b3cd9552e66f6d0ba844cbb9399c479"

# Published checkpoints, pinned by sha256 (Pre_trained_models/RawGAT_ST_<variant>/Best_epoch.pth).
OFFICIAL = {
    "mul": {"sha256": "8a91ce8201d42119cbfb9ebca8850e5914f1a85959b3ca962819783738c2a9e2", "bytes": 1858500},
    "add": {"sha256": "0b59dd135194db79815cc1f05203f83f59a38d9ad7ce64a20f1c69d4d285fcc9", "bytes": 1858500},
    "cat": {"sha256": "4ee991100731fab870f6c33509e753029a69cc626d4c98ceb395011d78c31d67", "bytes": 1877572},
}
FUSION = {"mul": "element-wise product", "add": "element-wise sum", "cat": "concatenation"}


def public_url(variant: str) -> str:
    return (f"https://github.com/{UPSTREAM_REPO}/raw/{UPSTREAM_COMMIT}/"
            f"Pre_trained_models/RawGAT_ST_{variant}/Best_epoch.pth")


def verify_checkpoint(variant: str, path: str) -> str:
    return verify_pinned(path, OFFICIAL[variant]["sha256"], f"RawGAT-ST-{variant}", public_url(variant))


def main(argv=None) -> int:
    args = export_argument_parser(__doc__, VARIANTS, "official Best_epoch.pth (verified against the pinned sha256)",
                                  "directory for model.onnx and provenance.json").parse_args(argv)

    torch.set_grad_enabled(False)
    source = source_model(
        args,
        verify=verify_checkpoint,
        load=load_official,
        build=build_model,
        url=public_url(args.variant),
        license="MIT",
        description=(
            f"RawGAT-ST-{args.variant} (Tak et al., ASVspoof 2021 workshop; spectral and temporal graphs "
            f"fused by {FUSION[args.variant]}), official {UPSTREAM_REPO} weights trained on ASVspoof 2019 LA; "
            f"ONNX input waveform float32 [1,{NB_SAMP}] 16 kHz mono, output logits [1,2] = [spoof, bona fide]"
        ),
        fixture_description=(
            f"RawGAT-ST-{args.variant} layout with random weights (seed {args.random_seed}); for tests only, "
            "its scores mean nothing"
        ),
        also=(OSError,),
    )
    if source is None:
        return 2
    model, provenance = source
    export_waveform_model(model, args.out, NB_SAMP, args.opset, provenance, args.variant)
    return 0


if __name__ == "__main__":
    sys.exit(main())
