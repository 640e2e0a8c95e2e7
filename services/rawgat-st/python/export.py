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

import argparse
import hashlib
import json
import os
import sys
import tempfile
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawgat_reference import NB_SAMP, VARIANTS, build_model, load_official  # noqa: E402

UPSTREAM_REPO = "eurecom-asp/RawGAT-ST-antispoofing"
UPSTREAM_COMMIT = "e3b049f79b3cd9552e66f6d0ba844cbb9399c479"

# Published checkpoints, pinned by sha256 (Pre_trained_models/RawGAT_ST_<variant>/Best_epoch.pth).
OFFICIAL = {
    "mul": {"sha256": "8a91ce8201d42119cbfb9ebca8850e5914f1a85959b3ca962819783738c2a9e2", "bytes": 1858500},
    "add": {"sha256": "0b59dd135194db79815cc1f05203f83f59a38d9ad7ce64a20f1c69d4d285fcc9", "bytes": 1858500},
    "cat": {"sha256": "4ee991100731fab870f6c33509e753029a69cc626d4c98ceb395011d78c31d67", "bytes": 1877572},
}
FUSION = {"mul": "element-wise product", "add": "element-wise sum", "cat": "concatenation"}


class ChecksumMismatch(Exception):
    pass


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def public_url(variant: str) -> str:
    return (f"https://github.com/{UPSTREAM_REPO}/raw/{UPSTREAM_COMMIT}/"
            f"Pre_trained_models/RawGAT_ST_{variant}/Best_epoch.pth")


def verify_checkpoint(variant: str, path: str) -> str:
    expected = OFFICIAL[variant]["sha256"]
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumMismatch(
            f"refusing {path}: sha256 {actual} does not match the pinned sha256 {expected} of the "
            f"official RawGAT-ST-{variant} checkpoint ({public_url(variant)})"
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
    ap.add_argument("--variant", required=True, choices=list(VARIANTS))
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="official Best_epoch.pth (verified against the pinned sha256)")
    src.add_argument("--random-seed", type=int, help="random weights of the same layout (test fixture)")
    ap.add_argument("--out", required=True, help="directory for model.onnx and provenance.json")
    ap.add_argument("--opset", type=int, default=17)
    args = ap.parse_args(argv)

    torch.set_grad_enabled(False)
    if args.checkpoint is not None:
        try:
            checkpoint_sha = verify_checkpoint(args.variant, args.checkpoint)
        except (ChecksumMismatch, OSError) as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        model = load_official(args.variant, args.checkpoint)
        provenance = {
            "kind": "official",
            "source": public_url(args.variant),
            "checkpointSha256": checkpoint_sha,
            "license": "MIT",
            "description": (
                f"RawGAT-ST-{args.variant} (Tak et al., ASVspoof 2021 workshop; spectral and temporal graphs "
                f"fused by {FUSION[args.variant]}), official {UPSTREAM_REPO} weights trained on ASVspoof 2019 LA; "
                f"ONNX input waveform float32 [1,{NB_SAMP}] 16 kHz mono, output logits [1,2] = [spoof, bona fide]"
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
                f"RawGAT-ST-{args.variant} layout with random weights (seed {args.random_seed}); for tests only, "
                "its scores mean nothing"
            ),
        }

    os.makedirs(args.out, exist_ok=True)
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
