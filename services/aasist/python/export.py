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

import argparse
import hashlib
import json
import os
import sys
import tempfile
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aasist_reference import NB_SAMP, build_model, load_official  # noqa: E402

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


class ChecksumMismatch(Exception):
    pass


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def public_url(variant: str) -> str:
    return f"https://github.com/clovaai/aasist/raw/{UPSTREAM_COMMIT}/{OFFICIAL[variant]['path']}"


def verify_checkpoint(variant: str, path: str) -> str:
    expected = OFFICIAL[variant]["sha256"]
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumMismatch(
            f"refusing {path}: sha256 {actual} does not match the pinned sha256 {expected} of the "
            f"official {variant} checkpoint ({public_url(variant)})"
        )
    return actual


def export_onnx(model: torch.nn.Module, out_path: str, opset: int) -> None:
    dummy = torch.zeros(1, NB_SAMP, dtype=torch.float32)
    # The shape-to-int conversions it warns about are intended: the graph is fixed-size by design.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (dummy,),
            out_path,
            input_names=["waveform"],
            output_names=["logits"],
            opset_version=opset,
            do_constant_folding=True,
            dynamic_axes=None,  # fixed [1, 64600]: see module docstring
        )


def write_atomic(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", required=True, choices=sorted(OFFICIAL))
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="official .pth (verified against the pinned sha256)")
    src.add_argument("--random-seed", type=int, help="random weights of the same layout (test fixture)")
    ap.add_argument("--out", required=True, help="directory for model.onnx and provenance.json")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args(argv)

    torch.set_grad_enabled(False)
    os.makedirs(args.out, exist_ok=True)
    if args.checkpoint is not None:
        try:
            checkpoint_sha = verify_checkpoint(args.variant, args.checkpoint)
        except ChecksumMismatch as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        model = load_official(args.variant, args.checkpoint)
        provenance = {
            "kind": "official",
            "source": public_url(args.variant),
            "checkpointSha256": checkpoint_sha,
            "license": "MIT",
            "description": (
                f"{args.variant} (Jung et al., ICASSP 2022), official clovaai/aasist weights trained on "
                f"ASVspoof 2019 LA (EER {OFFICIAL[args.variant]['eer']}); ONNX input waveform float32 "
                f"[1,{NB_SAMP}] 16 kHz mono, output logits [1,2] = [spoof, bona fide]"
            ),
        }
    else:
        torch.manual_seed(args.random_seed)
        model = build_model(args.variant)
        provenance = {
            "kind": "random-fixture",
            "source": f"random-seed:{args.random_seed}",
            "license": "MIT",
            "description": (
                f"{args.variant} layout with random weights (seed {args.random_seed}); for tests only, "
                "its scores mean nothing"
            ),
        }

    onnx_path = os.path.join(args.out, "model.onnx")
    tmp_onnx = os.path.join(args.out, ".model.onnx.tmp")
    export_onnx(model, tmp_onnx, args.opset)
    os.replace(tmp_onnx, onnx_path)
    provenance["onnxSha256"] = sha256_of(onnx_path)
    provenance["variant"] = args.variant
    provenance["inputSamples"] = NB_SAMP
    write_atomic(os.path.join(args.out, "provenance.json"), (json.dumps(provenance, indent=2) + "\n").encode())
    print(json.dumps({"onnx": onnx_path, **provenance}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
