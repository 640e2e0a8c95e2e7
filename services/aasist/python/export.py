"""Convert an official AASIST / AASIST-L checkpoint (clovaai/aasist, MIT) to ONNX.

    python3 export.py --variant AASIST --checkpoint /mirror/aasist/AASIST.pth --out .deepsafe/models/aasist
    python3 export.py --variant AASIST-L --random-seed 7 --out /tmp/fixture   # random weights, same layout

Writes <out>/model.onnx (input "waveform" float32 [1, 64600], output "logits" float32 [1, 2] ordered
[spoof, bona fide]) and <out>/provenance.json. The checkpoint's sha256 must equal the pinned value of
the published file; anything else is refused before it is read by torch.

The graph is exported at exactly 64,600 samples and batch 1: the graph-pooling layers keep
int(N * ratio) nodes, a count that tracing freezes, so any other length would silently diverge.
"""
from __future__ import annotations

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from aasist_reference import NB_SAMP, build_model, load_official  # noqa: E402
from deepsafe_weights import (  # noqa: E402
    export_argument_parser, export_waveform_model, source_model, verify_checkpoint as verify_pinned,
)

UPSTREAM_COMMIT = "a04c9863f63d44471dde8a6abcb3b082b07cd1d1"

# Published checkpoints, pinned by sha256.
OFFICIAL = {
    "AASIST": {
        "sha256": "51d2d9cf0738172f61e2a384ec50a54a55363240f67c971ed55a92435bc1a1c0",
        "bytes": 1281532,
        "path": "models/weights/AASIST.pth",
        "eer": "0.83 %",
    },
    "AASIST-L": {
        "sha256": "814331d088032bb4c3fa61cc014789eadeed464209dd094ab3a2dd6ffbdce27a",
        "bytes": 426428,
        "path": "models/weights/AASIST-L.pth",
        "eer": "0.99 %",
    },
}


def public_url(variant: str) -> str:
    return f"https://github.com/clovaai/aasist/raw/{UPSTREAM_COMMIT}/{OFFICIAL[variant]['path']}"


def verify_checkpoint(variant: str, path: str) -> str:
    return verify_pinned(path, OFFICIAL[variant]["sha256"], variant, public_url(variant))


def main(argv=None) -> int:
    args = export_argument_parser(__doc__, sorted(OFFICIAL), "official .pth (verified against the pinned sha256)",
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
            f"{args.variant} (Jung et al., ICASSP 2022), official clovaai/aasist weights trained on "
            f"ASVspoof 2019 LA (EER {OFFICIAL[args.variant]['eer']}); ONNX input waveform float32 "
            f"[1,{NB_SAMP}] 16 kHz mono, output logits [1,2] = [spoof, bona fide]"
        ),
        fixture_description=(
            f"{args.variant} layout with random weights (seed {args.random_seed}); for tests only, "
            "its scores mean nothing"
        ),
    )
    if source is None:
        return 2
    model, provenance = source
    export_waveform_model(model, args.out, NB_SAMP, args.opset, provenance, args.variant)
    return 0


if __name__ == "__main__":
    sys.exit(main())
