"""Convert an NPR checkpoint to ONNX for the DeepSafe NPR service.

  export.py --checkpoint NPR.pth          official weights (loaded with weights_only=True)
  export.py --random-seed 0               random weights of the identical 146-key layout, written
                                          to a .pth first and then converted through the same path

Writes <out-dir>/model.onnx (input "image" float32 [N,3,256,256], output "logit" [N,1]) and
<out-dir>/provenance.json. Idempotent: does nothing when both exist and match the checkpoint.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

REPO_ROOT = HERE.parents[2]
CONVERTER = "deepsafe-npr-export/1"
OPSET = 17
UPSTREAM_REPO = "https://github.com/chuangchuangtan/NPR-DeepfakeDetection"
# Default branch head when this was written; NPR.pth is unchanged since the first commit (5dffad0).
UPSTREAM_COMMIT = "73cde1ced21291bfb504a2add2b53fbe99c4f433"
OFFICIAL_URL = f"{UPSTREAM_REPO}/raw/{UPSTREAM_COMMIT}/NPR.pth"
OFFICIAL_GIT_BLOB = "2430d34a6d6a1143d46d4276a05536770b1a2a97"
UPSTREAM_LICENSE = (
    "Upstream repository has no license file (all rights reserved by the authors); "
    "obtain NPR.pth from the authors' repository and check terms before redistribution"
)


class CheckpointError(Exception):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(path: Path) -> str:
    h = hashlib.sha1()
    h.update(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_out_dir() -> Path:
    base = os.environ.get("DEEPSAFE_MODELS_DIR")
    return (Path(base) if base else REPO_ROOT / ".deepsafe" / "models") / "npr"


def load_state_dict(path: Path):
    """Load a checkpoint without executing pickled code, and check it against our layout."""
    import torch
    from npr_reference import expected_keys

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - report any loader failure the same way
        raise CheckpointError(f"cannot load {path} as a weights-only checkpoint: {err}") from err
    # Official NPR.pth is a bare state_dict; training checkpoints keep it under "model".
    for wrapper in ("model", "state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state_dict of tensors")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}

    want = expected_keys()
    missing = [k for k in want if k not in obj]
    unexpected = [k for k in obj if k not in set(want)]
    if missing or unexpected:
        def show(keys):
            return ", ".join(keys[:5]) + (f" ... (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        lines = [f"{path} does not match the NPR layout ({len(want)} keys expected, {len(obj)} found)."]
        if missing:
            lines.append(f"  missing {len(missing)}: {show(missing)}")
        if unexpected:
            lines.append(f"  unexpected {len(unexpected)}: {show(unexpected)}")
        lines.append("  Expected the official NPR.pth (ResNet-50 stem + layer1 + layer2 + fc1, no prefix).")
        raise CheckpointError("\n".join(lines))

    from npr_reference import NPR

    ref = NPR().state_dict()
    bad = [f"{k}: {tuple(obj[k].shape)} != {tuple(ref[k].shape)}" for k in want if obj[k].shape != ref[k].shape]
    if bad:
        raise CheckpointError(f"{path}: tensor shapes differ from the NPR layout: " + "; ".join(bad[:5]))
    return {k: obj[k] for k in want}


def build_model(state_dict):
    from npr_reference import NPR

    model = NPR()
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def write_random_checkpoint(seed: int, path: Path) -> None:
    """Random weights with the official key layout. BatchNorm running statistics are calibrated on
    synthetic images so activations and logits have a realistic scale (scores stay meaningless)."""
    import torch
    from npr_reference import NPR

    torch.manual_seed(seed)
    model = NPR()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.momentum = None  # cumulative average over the calibration batches
                m.reset_running_stats()
        model.train()
        for _ in range(2):
            base = torch.rand(4, 3, 1, 1) + torch.linspace(0, 1, 256).view(1, 1, 1, 256) * torch.rand(4, 3, 1, 1)
            x = (base + 0.2 * torch.randn(4, 3, 256, 256) - 0.45) / 0.226
            model(x)
        model.eval()
    tmp = path.with_suffix(".tmp")
    torch.save(model.state_dict(), str(tmp))
    os.replace(tmp, path)


def export_onnx(model, path: Path) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    dummy = torch.zeros(1, 3, 256, 256)
    with torch.no_grad():
        torch.onnx.export(
            model,
            dummy,
            str(tmp),
            input_names=["image"],
            output_names=["logit"],
            dynamic_axes={"image": {0: "N"}, "logit": {0: "N"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def up_to_date(out_dir: Path, checkpoint_sha: str) -> bool:
    onnx_path, prov_path = out_dir / "model.onnx", out_dir / "provenance.json"
    if not onnx_path.is_file() or not prov_path.is_file():
        return False
    try:
        prov = json.loads(prov_path.read_text())
    except ValueError:
        return False
    return (
        prov.get("converter") == CONVERTER
        and prov.get("checkpointSha256") == checkpoint_sha
        and prov.get("onnxSha256") == sha256_file(onnx_path)
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", type=Path, help="official NPR.pth (or a training checkpoint)")
    src.add_argument("--random-seed", type=int, help="make a random-weight fixture with this seed")
    p.add_argument("--out-dir", type=Path, default=default_out_dir())
    p.add_argument("--kind", choices=["official", "project-trained"], default="official",
                   help="with --checkpoint: official requires the published NPR.pth (git blob check)")
    p.add_argument("--source", help="where the checkpoint came from (recorded in provenance.json)")
    p.add_argument("--check-only", action="store_true", help="load and check the checkpoint, print a summary, write nothing")
    p.add_argument("--force", action="store_true", help="re-export even if the outputs are up to date")
    args = p.parse_args(argv)

    out_dir: Path = args.out_dir
    if args.random_seed is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        checkpoint = out_dir / f"random-v1-seed{args.random_seed}.pth"
        if not checkpoint.is_file():
            write_random_checkpoint(args.random_seed, checkpoint)
        provenance = {
            "kind": "random-fixture",
            "source": f"random weights, seed {args.random_seed}, made by services/npr/python/export.py",
            "license": "not applicable (random weights generated by DeepSafe)",
            "description": (
                "RANDOM WEIGHTS for testing the serving and conversion path only: scores are meaningless "
                "and must not be used to judge any image. Supply the official NPR.pth for real detection."
            ),
        }
    else:
        checkpoint = args.checkpoint
        if not checkpoint.is_file():
            print(f"error: checkpoint not found: {checkpoint}", file=sys.stderr)
            return 2
        if args.kind == "official" and not args.check_only:
            blob = git_blob_sha1(checkpoint)
            if blob != OFFICIAL_GIT_BLOB:
                print(f"error: {checkpoint} is not the published NPR.pth (git blob {blob}, expected "
                      f"{OFFICIAL_GIT_BLOB}); pass --kind project-trained for other weights", file=sys.stderr)
                return 2
        provenance = {
            "kind": args.kind,
            "source": args.source or (OFFICIAL_URL if args.kind == "official" else str(checkpoint)),
            "license": UPSTREAM_LICENSE if args.kind == "official" else "see the checkpoint's owner",
            "description": (
                "Official NPR checkpoint (ProGAN 4-class training, CVPR 2024), converted to ONNX by DeepSafe"
                if args.kind == "official" else "NPR weights supplied by the operator, converted to ONNX by DeepSafe"
            ),
        }

    try:
        state_dict = load_state_dict(checkpoint)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    checkpoint_sha = sha256_file(checkpoint)
    if args.check_only:
        print(json.dumps({"checkpoint": str(checkpoint), "keys": len(state_dict), "checkpointSha256": checkpoint_sha}))
        return 0

    out_dir.mkdir(parents=True, exist_ok=True)
    if not args.force and up_to_date(out_dir, checkpoint_sha):
        print(f"npr: {out_dir}/model.onnx is up to date ({provenance['kind']})")
        return 0

    onnx_path = out_dir / "model.onnx"
    export_onnx(build_model(state_dict), onnx_path)
    provenance.update(
        checkpointSha256=checkpoint_sha,
        onnxSha256=sha256_file(onnx_path),
        converter=CONVERTER,
        opset=OPSET,
    )
    # Field order: the Provenance fields first, then converter details.
    order = ["kind", "source", "checkpointSha256", "onnxSha256", "license", "description",
             "converter", "opset"]
    write_json(out_dir / "provenance.json", {k: provenance[k] for k in order})
    print(f"npr: wrote {onnx_path} ({provenance['kind']}) from {checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
