"""Convert UniversalFakeDetect (CLIP ViT-L/14 image encoder + linear head) to one ONNX graph.

  export.py --backbone ViT-L-14.pt [--head fc_weights.pth]
        the OpenAI CLIP checkpoint (TorchScript archive, read without executing it; or a plain
        state_dict with the same keys) + the official head (default:
        $DEEPSAFE_WEIGHTS_MIRROR/universalfakedetect/fc_weights.pth)
  export.py --random-backbone-layers N [--random-seed S] [--head fc_weights.pth]
        TEST FIXTURE: a random CLIP with a ViT-L/14-shaped image tower of N blocks, written as a
        TorchScript archive by make_random_clip.py and converted through the same reader; the
        head is still the one given (the official one in the tests)

Writes <out-dir>/model.onnx (input "image" float32 [N,3,224,224], output "logit" [N,1]; about
1.2 GB for the full ViT-L/14, one file) and <out-dir>/provenance.json. Idempotent: nothing is
done when both exist and match the inputs' sha256s.

Provenance kind: "official" only when the backbone is the published ViT-L-14.pt (sha256
b8cca3fd...) AND the head is the published fc_weights.pth (sha256 47710074...); anything else
needs --kind project-trained; the random backbone is always "random-fixture".
Exit codes: 0 ok, 2 bad arguments / missing or unrecognised files, 3 unreadable or wrong layout.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

REPO_ROOT = HERE.parents[2]
CONVERTER = "deepsafe-ufd-export/1"
OPSET = 17

UPSTREAM_REPO = "https://github.com/WisconsinAIVision/UniversalFakeDetect"
UPSTREAM_COMMIT = "76a0e3e60a8a06458707a625d269ba815a2e5919"
HEAD_URL = f"{UPSTREAM_REPO}/raw/{UPSTREAM_COMMIT}/pretrained_weights/fc_weights.pth"
HEAD_SHA256 = "477100745713bcc957beb2b40859536859b6483fd6301b3b9293151b194c7847"
HEAD_LICENSE = "MIT (UniversalFakeDetect, Copyright (c) 2025 Wisconsin AI and Vision Lab)"

BACKBONE_SHA256 = "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836"
BACKBONE_URL = f"https://openaipublic.azureedge.net/clip/models/{BACKBONE_SHA256}/ViT-L-14.pt"
BACKBONE_LICENSE = "MIT (openai/CLIP, Copyright (c) 2021 OpenAI; see CLIP's model card for intended use)"
BACKBONE_MIRROR_PATH = "clip/ViT-L-14.pt"
HEAD_MIRROR_PATH = "universalfakedetect/fc_weights.pth"


class CheckpointError(Exception):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def default_out_dir() -> Path:
    base = os.environ.get("DEEPSAFE_MODELS_DIR")
    return (Path(base) if base else REPO_ROOT / ".deepsafe" / "models") / "ufd"


def default_head() -> Path | None:
    mirror = os.environ.get("DEEPSAFE_WEIGHTS_MIRROR")
    return Path(mirror) / HEAD_MIRROR_PATH if mirror else None


def load_head(path: Path):
    """fc_weights.pth: the state_dict of upstream's nn.Linear(768, 1): weight [1, 768], bias [1]."""
    import torch
    from ufd_reference import EMBED_DIM

    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"cannot load {path} as a weights-only checkpoint: {err}") from err
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} does not hold a state_dict")
    if set(obj) == {"fc.weight", "fc.bias"}:
        obj = {"weight": obj["fc.weight"], "bias": obj["fc.bias"]}
    if set(obj) != {"weight", "bias"}:
        raise CheckpointError(f"{path}: expected the keys weight and bias of Linear({EMBED_DIM}, 1), found {sorted(obj)[:6]}")
    w, b = obj["weight"], obj["bias"]
    if not (isinstance(w, torch.Tensor) and isinstance(b, torch.Tensor)):
        raise CheckpointError(f"{path}: weight and bias must be tensors")
    if tuple(w.shape) != (1, EMBED_DIM) or tuple(b.shape) != (1,):
        raise CheckpointError(f"{path}: weight {tuple(w.shape)} / bias {tuple(b.shape)}, expected (1, {EMBED_DIM}) / (1,)")
    if not (w.is_floating_point() and torch.isfinite(w).all() and torch.isfinite(b).all()):
        raise CheckpointError(f"{path}: head weights are not finite floating-point values")
    return {"weight": w.to(torch.float32), "bias": b.to(torch.float32)}


def load_backbone(path: Path):
    """-> (visual state_dict in fp32, format, number of residual blocks)."""
    from clip_archive import ArchiveError, read_clip_visual
    from ufd_reference import expected_visual_shapes

    try:
        visual, fmt = read_clip_visual(path)
    except ArchiveError as err:
        raise CheckpointError(str(err)) from err
    layers = len([k for k in visual if k.startswith("transformer.resblocks.") and k.endswith(".attn.in_proj_weight")])
    if layers < 1:
        raise CheckpointError(
            f"{path}: no CLIP ViT image tower found (no visual.transformer.resblocks.*.attn.in_proj_weight; "
            f"{len(visual)} image-tower tensors). Expected OpenAI's ViT-L-14.pt."
        )
    want = expected_visual_shapes(layers)
    missing = [k for k in want if k not in visual]
    unexpected = [k for k in visual if k not in want]
    if missing or unexpected:
        def show(keys):
            return ", ".join(keys[:5]) + (f" ... (+{len(keys) - 5} more)" if len(keys) > 5 else "")
        lines = [f"{path} does not match CLIP ViT-L/14's image tower ({len(want)} keys expected for {layers} blocks, {len(visual)} found)."]
        if missing:
            lines.append(f"  missing {len(missing)}: visual.{show(missing)}")
        if unexpected:
            lines.append(f"  unexpected {len(unexpected)}: {show(['visual.' + k for k in unexpected])}")
        raise CheckpointError("\n".join(lines))
    bad = [f"visual.{k}: {tuple(visual[k].shape)} != {want[k]}" for k in want if tuple(visual[k].shape) != want[k]]
    if bad:
        raise CheckpointError(f"{path}: not ViT-L/14 (patch 14, width 1024, 224 px, output 768): " + "; ".join(bad[:5]))
    return visual, fmt, layers


def build_model(visual, head, layers: int):
    import torch
    from ufd_reference import UniversalFakeDetect

    model = UniversalFakeDetect(layers=layers)
    model.backbone.load_state_dict(visual, strict=True)
    model.fc.load_state_dict(head, strict=True)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    return model


def export_onnx(model, path: Path) -> None:
    import torch
    from ufd_reference import INPUT_SIZE

    # Export into a private folder so a partial or multi-file result never lands beside model.onnx.
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=path.parent))
    try:
        target = work / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                model,
                torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE),
                str(target),
                input_names=["image"],
                output_names=["logit"],
                dynamic_axes={"image": {0: "N"}, "logit": {0: "N"}},
                opset_version=OPSET,
                do_constant_folding=True,
            )
        produced = sorted(p.name for p in work.iterdir())
        if produced != ["model.onnx"]:
            # torch switches to external data only above protobuf's 2 GB; ViT-L/14 is ~1.2 GB.
            raise CheckpointError(f"ONNX export wrote {produced}; expected a single model.onnx")
        # A stale provenance must never describe the new graph: drop it before the swap; the
        # caller writes the new one right after.
        (path.parent / "provenance.json").unlink(missing_ok=True)
        os.replace(target, path)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_json(path: Path, data) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def up_to_date(out_dir: Path, head_sha: str, backbone_sha: str, kind: str) -> bool:
    onnx_path, prov_path = out_dir / "model.onnx", out_dir / "provenance.json"
    if not onnx_path.is_file() or not prov_path.is_file():
        return False
    try:
        prov = json.loads(prov_path.read_text())
    except ValueError:
        return False
    return (
        prov.get("converter") == CONVERTER
        and prov.get("kind") == kind
        and prov.get("checkpointSha256") == head_sha
        and prov.get("backbone", {}).get("sha256") == backbone_sha
        and prov.get("onnxSha256") == sha256_file(onnx_path)
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--backbone", type=Path, help="OpenAI CLIP ViT-L-14.pt (TorchScript archive) or a state_dict with its keys")
    src.add_argument("--random-backbone-layers", type=int, metavar="N",
                     help="test fixture: random ViT-L/14-shaped image tower with N blocks (1..24)")
    p.add_argument("--random-seed", type=int, default=0)
    p.add_argument("--head", type=Path, default=default_head(),
                   help=f"fc_weights.pth (default: $DEEPSAFE_WEIGHTS_MIRROR/{HEAD_MIRROR_PATH})")
    p.add_argument("--out-dir", type=Path, default=default_out_dir())
    p.add_argument("--kind", choices=["official", "project-trained"], default="official",
                   help="with --backbone: official requires the published ViT-L-14.pt and fc_weights.pth (sha256)")
    p.add_argument("--check-only", action="store_true", help="read and check the inputs, print a summary, write nothing")
    p.add_argument("--force", action="store_true", help="re-export even if the outputs are up to date")
    args = p.parse_args(argv)

    if args.head is None:
        print(f"error: no head given and $DEEPSAFE_WEIGHTS_MIRROR is unset (expected <mirror>/{HEAD_MIRROR_PATH}, "
              f"from {HEAD_URL})", file=sys.stderr)
        return 2
    if not args.head.is_file():
        print(f"error: head checkpoint not found: {args.head} (the official one is {HEAD_URL})", file=sys.stderr)
        return 2
    out_dir: Path = args.out_dir

    random_fixture = args.random_backbone_layers is not None
    if random_fixture:
        if not 1 <= args.random_backbone_layers <= 24:
            print("error: --random-backbone-layers must be 1..24", file=sys.stderr)
            return 2
        from make_random_clip import write_archive

        out_dir.mkdir(parents=True, exist_ok=True)
        backbone = out_dir / f"random-clip-vitl14-{args.random_backbone_layers}blocks-seed{args.random_seed}.pt"
        if not backbone.is_file():
            write_archive(backbone, args.random_backbone_layers, args.random_seed, "torchscript")
    else:
        backbone = args.backbone
        if not backbone.is_file():
            print(f"error: backbone checkpoint not found: {backbone}", file=sys.stderr)
            return 2

    head_sha = sha256_file(args.head)
    backbone_sha = sha256_file(backbone)
    head_official = head_sha == HEAD_SHA256
    backbone_official = backbone_sha == BACKBONE_SHA256
    if random_fixture:
        kind = "random-fixture"
    else:
        kind = args.kind
        if kind == "official" and not args.check_only and not (head_official and backbone_official):
            problems = []
            if not backbone_official:
                problems.append(f"{backbone} is not OpenAI's ViT-L-14.pt (sha256 {backbone_sha}, expected {BACKBONE_SHA256})")
            if not head_official:
                problems.append(f"{args.head} is not the published fc_weights.pth (sha256 {head_sha}, expected {HEAD_SHA256})")
            print("error: " + "; ".join(problems) + "; pass --kind project-trained to convert other weights", file=sys.stderr)
            return 2

    if not args.check_only and not args.force and up_to_date(out_dir, head_sha, backbone_sha, kind):
        print(f"ufd: {out_dir}/model.onnx is up to date ({kind})")
        return 0

    try:
        head = load_head(args.head)
        visual, fmt, layers = load_backbone(backbone)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    summary = {
        "kind": kind, "layers": layers, "backboneFormat": fmt, "backboneTensors": len(visual),
        "backboneSha256": backbone_sha, "backboneOfficial": backbone_official,
        "headSha256": head_sha, "headOfficial": head_official,
    }
    if args.check_only:
        print(json.dumps(summary))
        return 0
    if not random_fixture and layers != 24:
        print(f"error: {backbone} has {layers} residual blocks; ViT-L/14 has 24", file=sys.stderr)
        return 3

    out_dir.mkdir(parents=True, exist_ok=True)
    head_desc = "official UniversalFakeDetect head fc_weights.pth (Linear(768, 1), trained on ProGAN/CNNDetection data)" \
        if head_official else f"head {args.head.name} supplied by the operator (sha256 {head_sha}), not the published one"
    if random_fixture:
        source = (f"RANDOM CLIP image tower ({layers} of ViT-L/14's 24 blocks, seed {args.random_seed}, "
                  f"services/ufd/python/make_random_clip.py) + {HEAD_URL if head_official else args.head.name}")
        license_ = "not applicable (random backbone generated by DeepSafe); head: " + HEAD_LICENSE
        description = (
            f"RANDOM-WEIGHT TEST FIXTURE: a reduced-depth ({layers}-block) random CLIP ViT-L/14-shaped image encoder "
            f"with the {head_desc}. Scores are meaningless and must not be used to judge any image. "
            f"Supply OpenAI's ViT-L-14.pt (sha256 {BACKBONE_SHA256}) for real detection."
        )
        backbone_source = source.split(" + ")[0]
    elif kind == "official":
        source = f"{HEAD_URL} + {BACKBONE_URL}"
        license_ = f"head: {HEAD_LICENSE}; backbone: {BACKBONE_LICENSE}"
        description = (
            "UniversalFakeDetect (Ojha, Li, Lee, CVPR 2023): the official linear probe fc_weights.pth (trained on "
            "ProGAN/CNNDetection data) on OpenAI's CLIP ViT-L/14 image encoder (ViT-L-14.pt, sha256 "
            f"{BACKBONE_SHA256}, fp16 weights upcast exactly to fp32), converted to one ONNX graph by DeepSafe"
        )
        backbone_source = BACKBONE_URL
    else:
        source = f"operator-supplied: head {args.head} + backbone {backbone}"
        license_ = "see the checkpoints' owners" + (f"; head: {HEAD_LICENSE}" if head_official else "")
        description = (
            f"UniversalFakeDetect architecture with the {head_desc} on "
            + ("OpenAI's CLIP ViT-L/14 image encoder" if backbone_official
               else f"a CLIP ViT-L/14 image encoder that is NOT the published ViT-L-14.pt (sha256 {backbone_sha})")
            + ", converted to ONNX by DeepSafe"
        )
        backbone_source = BACKBONE_URL if backbone_official else str(backbone)

    onnx_path = out_dir / "model.onnx"
    model = build_model(visual, head, layers)
    del visual  # the model holds its own copy; ~1.2 GB for ViT-L/14
    try:
        export_onnx(model, onnx_path)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    provenance = {
        "kind": kind,
        "source": source,
        "checkpointSha256": head_sha,
        "onnxSha256": sha256_file(onnx_path),
        "license": license_,
        "description": description,
        "head": {"sha256": head_sha, "official": head_official, "source": HEAD_URL if head_official else str(args.head)},
        "backbone": {
            "sha256": backbone_sha, "official": backbone_official, "source": backbone_source,
            "format": fmt, "blocks": layers,
        },
        "converter": CONVERTER,
        "opset": OPSET,
    }
    write_json(out_dir / "provenance.json", provenance)
    size_mb = onnx_path.stat().st_size / 1e6
    print(f"ufd: wrote {onnx_path} ({kind}, {layers} blocks, {size_mb:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
