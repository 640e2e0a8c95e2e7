"""Convert a Cross-Efficient-ViT checkpoint to ONNX (our PyTorch reference, python/cross_efficient_vit.py).

    python3 export.py --checkpoint <mirror>/cross_efficient_vit/cross_efficient_vit.pth --out <dir>
    python3 export.py --random-fixture --seed 0 --out <dir> [--save-checkpoint fixture.pth]

Writes <out>/model.onnx (input "faces" float32 [N, 3, 224, 224], BGR 0..255, no normalisation; output
"logit" float32 [N, 1], one logit per face, sigmoid = P(fake); N dynamic) and <out>/provenance.json, each
under a temporary name first and then renamed.

The checkpoint is read as tensors only (torch.load weights_only: nothing in the file is executed), a
DataParallel "module." prefix is stripped, and every key and shape must match the published layout
(1152 tensors); otherwise the file is refused with the list of differences. --random-fixture writes random
weights of that same layout to a .pth first and converts that file through the same path (provenance kind
"random-fixture": the scores mean nothing).
Prints one JSON line: {"onnx", "onnxSha256", "checkpointSha256", "kind"}. Exit status 2 for a refused
checkpoint.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cross_efficient_vit import CheckpointError, load_checkpoint, random_state_dict  # noqa: E402

UPSTREAM = "davide-coccomini/Combining-EfficientNet-and-Vision-Transformers-for-Video-Deepfake-Detection"
UPSTREAM_COMMIT = "2f5305e7c8ecd9489cb1147088984bf34e5eef3a"
OFFICIAL_URL = "http://datino.isti.cnr.it/efficientvit_deepfake/cross_efficient_vit.pth"
FIXTURE_SOURCE = f"https://github.com/{UPSTREAM}/tree/{UPSTREAM_COMMIT}/cross-efficient-vit (architecture only; random weights)"
LICENSE = "MIT (code and weights, Davide Coccomini)"
OPSET = 17
INPUT, OUTPUT = "faces", "logit"


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def converter_digest() -> str:
    """sha256 over the files that define the conversion (recorded as provenance "converter")."""
    here = os.path.dirname(os.path.abspath(__file__))
    h = hashlib.sha256()
    for name in ("cross_efficient_vit.py", "export.py"):
        with open(os.path.join(here, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def export_onnx(model: torch.nn.Module, path: str) -> None:
    dummy = torch.zeros(2, 3, 224, 224, dtype=torch.float32)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        torch.onnx.export(
            model,
            (dummy,),
            path,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {0: "N"}, OUTPUT: {0: "N"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )


def write_json_atomic(path: str, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(data, indent=2) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="cross_efficient_vit.pth (a state_dict of the published layout)")
    src.add_argument("--random-fixture", action="store_true", help="random weights of the published layout (tests)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random fixture")
    ap.add_argument("--save-checkpoint", help="with --random-fixture: keep the random .pth here")
    ap.add_argument("--out", required=True, help="directory for model.onnx and provenance.json")
    ap.add_argument("--source", default=OFFICIAL_URL, help="where the checkpoint came from (recorded in provenance.json)")
    ap.add_argument("--pinned", action="store_true", help="the caller checked the checkpoint against a pinned sha256")
    args = ap.parse_args(argv)

    torch.set_grad_enabled(False)
    scratch = tempfile.mkdtemp(prefix="cev-export-")
    try:
        if args.random_fixture:
            # torch.save names the archive after the file: "fixture.pth" everywhere gives identical bytes
            checkpoint = args.save_checkpoint or os.path.join(scratch, "fixture.pth")
            torch.save(random_state_dict(args.seed), checkpoint)
        else:
            checkpoint = args.checkpoint
            if not os.path.isfile(checkpoint):
                print(f"error: {checkpoint} not found", file=sys.stderr)
                return 2
        checkpoint_sha = sha256_of(checkpoint)
        try:
            model = load_checkpoint(checkpoint)
        except CheckpointError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2

        os.makedirs(args.out, exist_ok=True)
        fd, tmp_onnx = tempfile.mkstemp(dir=args.out, prefix=".model.onnx.", suffix=".tmp")
        os.close(fd)
        try:
            export_onnx(model, tmp_onnx)
            onnx_sha = sha256_of(tmp_onnx)
            if args.random_fixture:
                provenance = {
                    "kind": "random-fixture",
                    "source": FIXTURE_SOURCE,
                    "checkpointSha256": checkpoint_sha,
                    "onnxSha256": onnx_sha,
                    "license": LICENSE,
                    "description": f"RANDOM weights (seed {args.seed}) of the published Cross-Efficient-ViT layout, for tests only; scores mean nothing",
                    "fixtureSeed": args.seed,
                }
            else:
                provenance = {
                    "kind": "official",
                    "source": args.source,
                    "checkpointSha256": checkpoint_sha,
                    "onnxSha256": onnx_sha,
                    "license": LICENSE,
                    "description": (
                        "Cross-Efficient-ViT (EfficientNet-B0 + multi-scale cross-attention ViT; Coccomini et al., ICIAP 2022), "
                        "the authors' released cross_efficient_vit.pth (trained on DFDC and FaceForensics++ face crops)"
                        + ("" if args.pinned else "; supplied locally, not checked against a published digest")
                    ),
                }
            provenance["converter"] = converter_digest()
            os.chmod(tmp_onnx, 0o644)
            os.replace(tmp_onnx, os.path.join(args.out, "model.onnx"))
        finally:
            if os.path.exists(tmp_onnx):
                os.remove(tmp_onnx)
        write_json_atomic(os.path.join(args.out, "provenance.json"), provenance)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps({"onnx": os.path.join(args.out, "model.onnx"), "onnxSha256": onnx_sha, "checkpointSha256": checkpoint_sha, "kind": provenance["kind"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
