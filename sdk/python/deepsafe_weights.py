"""Official weights in the services' converters (python/export.py) and PyTorch references: the
pinned-sha256 check made before torch reads a checkpoint, safe loading (tensors only), the converters'
command line and model source (official checkpoint or a random-weight test fixture), writing
provenance.json, and the ONNX export shared by the raw-waveform window models (AASIST, RawGAT-ST).

Only the standard library at import time (torch is imported where it is used).
Services import it by putting <repo>/sdk/python on sys.path, relative to their own __file__.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import warnings
from typing import Any, Callable, Iterable, Optional, Tuple, Type


class ChecksumMismatch(Exception):
    """A checkpoint whose sha256 is not the pinned one of the published file."""


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checkpoint(path: str, expected: str, what: str, url: str) -> str:
    """The sha256 of `path` when it is `expected`; ChecksumMismatch otherwise (`what` names the official
    checkpoint, `url` is where it is published). Call it before torch reads the file."""
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumMismatch(
            f"refusing {path}: sha256 {actual} does not match the pinned sha256 {expected} of the "
            f"official {what} checkpoint ({url})"
        )
    return actual


def load_state_dict(model, checkpoint: str):
    """Load a state_dict checkpoint into `model` safely (torch.load weights_only: tensors only, no code
    runs) with strict key checking; returns the model in eval mode."""
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def resolve_checkpoint(given: Optional[str], in_mirror: str, verify: Callable[[str], str],
                       also: Tuple[Type[BaseException], ...] = ()) -> Optional[Tuple[str, str]]:
    """The references' checkpoint: `given` (--checkpoint), else $DEEPSAFE_WEIGHTS_MIRROR/<in_mirror>, checked
    by `verify` (returns its sha256). (path, sha256), or None after printing why not to stderr (exit status 2).
    ChecksumMismatch is always reported that way, the exceptions in `also` too."""
    checkpoint = given
    if checkpoint is None:
        mirror = os.environ.get("DEEPSAFE_WEIGHTS_MIRROR")
        if not mirror:
            print("error: pass --checkpoint or set DEEPSAFE_WEIGHTS_MIRROR", file=sys.stderr)
            return None
        checkpoint = os.path.join(mirror, in_mirror)
    try:
        return checkpoint, verify(checkpoint)
    except (ChecksumMismatch, *also) as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def export_argument_parser(doc: str, variants: Iterable[str], checkpoint_help: str, out_help: str) -> argparse.ArgumentParser:
    """The converters' command line: --variant, --checkpoint (official, sha256-checked) or --random-seed
    (random weights of the same layout, a test fixture), --out and --opset (default 17)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", required=True, choices=list(variants))
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help=checkpoint_help)
    src.add_argument("--random-seed", type=int, help="random weights of the same layout (test fixture)")
    ap.add_argument("--out", required=True, help=out_help)
    ap.add_argument("--opset", type=int, default=17)
    return ap


def source_model(args: argparse.Namespace, *, verify: Callable[[str, str], str], load: Callable[[str, str], Any],
                 build: Callable[[str], Any], url: str, license: str, description: str, fixture_description: str,
                 also: Tuple[Type[BaseException], ...] = ()) -> Optional[Tuple[Any, dict]]:
    """The model a converter exports (args of export_argument_parser) and the start of its provenance:
    --checkpoint checked by verify(variant, path) (returns its sha256) and read by load(variant, path),
    published at `url`; or --random-seed N: torch seeded with N, then build(variant) (random weights;
    "random-fixture"). None after printing why the checkpoint is refused (ChecksumMismatch, and the
    exceptions in `also`): exit status 2."""
    import torch

    if args.checkpoint is not None:
        try:
            checkpoint_sha = verify(args.variant, args.checkpoint)
        except (ChecksumMismatch, *also) as err:
            print(f"error: {err}", file=sys.stderr)
            return None
        return load(args.variant, args.checkpoint), {
            "kind": "official",
            "source": url,
            "checkpointSha256": checkpoint_sha,
            "license": license,
            "description": description,
        }
    torch.manual_seed(args.random_seed)
    return build(args.variant), {
        "kind": "random-fixture",
        "source": f"random-seed:{args.random_seed}",
        "license": license,
        "description": fixture_description,
    }


def write_atomic(path: str, data: bytes) -> None:
    """Write `data` to `path` through a temp file in the same directory (mode 0644), so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_provenance(out_dir: str, provenance: dict) -> None:
    """<out_dir>/provenance.json, atomically (what the service's readModelDir checks)."""
    write_atomic(os.path.join(out_dir, "provenance.json"), (json.dumps(provenance, indent=2) + "\n").encode())


def export_waveform_model(model, out_dir: str, input_samples: int, opset: int, provenance: dict, variant: str) -> None:
    """A raw-waveform window model as <out_dir>/model.onnx, input "waveform" float32 [1, input_samples],
    output "logits" [1, 2], exported at exactly that length and batch 1 (the graph-pooling layers of
    AASIST and RawGAT-ST keep int(N * ratio) nodes, a count that tracing freezes); then provenance.json
    (`provenance` + onnxSha256, variant and inputSamples), and the same record on stdout."""
    import torch

    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    tmp_onnx = os.path.join(out_dir, ".model.onnx.tmp")
    dummy = torch.zeros(1, input_samples, dtype=torch.float32)
    # The shape-to-int conversions it warns about are intended: the graph is fixed-size by design.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            model,
            (dummy,),
            tmp_onnx,
            input_names=["waveform"],
            output_names=["logits"],
            opset_version=opset,
            do_constant_folding=True,
            dynamic_axes=None,  # fixed [1, input_samples]
        )
    os.replace(tmp_onnx, onnx_path)
    provenance = {**provenance, "onnxSha256": sha256_of(onnx_path), "variant": variant, "inputSamples": input_samples}
    write_provenance(out_dir, provenance)
    print(json.dumps({"onnx": onnx_path, **provenance}))
