"""Convert a published MesoNet Keras weights file (DariusAf/MesoNet, Apache-2.0) to ONNX for DeepSafe.

    python3 export.py --weights MesoInception_DF --checkpoint <mirror>/mesonet/MesoInception_DF.h5 --out DIR
    python3 export.py --weights Meso4_DF --random-seed 0 --out DIR      # random weights, same layout (tests)

Writes DIR/model.onnx and DIR/provenance.json. The graph takes "face" float32 [N, 3, 256, 256] (an RGB face
crop, values in [0, 1]) and returns "logit" float32 [N, 1], the logit of P(fake): the negated Keras
pre-sigmoid output (whose sigmoid is P(real)), so sigmoid(logit) = P(fake) = 1 - Keras' output.

The .h5 file is read with h5py (arrays only) after its sha256 is checked against the pinned value of the
published file; anything else is refused before it is opened. A no-op when DIR already holds an export of the
same file by this converter version (unless --force).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

UPSTREAM_REPO = "DariusAf/MesoNet"
UPSTREAM_COMMIT = "2144d56a30e48cdcac1976ff13a1c5cdc86376c6"
CONVERTER = "deepsafe-mesonet-export/1"
OPSET = 17

# Published files, pinned by sha256 (weights/<name>.h5 at UPSTREAM_COMMIT).
OFFICIAL = {
    "Meso4_DF": {"sha256": "036ed30d04ffd9c7506f825b97c86aa64915f5818931da96817b169aad790af5", "bytes": 156128,
                 "trained": "the authors' Deepfake face dataset"},
    "Meso4_F2F": {"sha256": "bcfda015d217b9f8d6557693edbdf9f4e79cfd22672541968dd0e2954462b5d7", "bytes": 156128,
                  "trained": "Face2Face faces (FaceForensics)"},
    "MesoInception_DF": {"sha256": "234586d40058e76ef8b6f27ca4b63c06e31c2a5a69c0d8ba6f30b1468ab7bafa",
                         "bytes": 197504, "trained": "the authors' Deepfake face dataset"},
    "MesoInception_F2F": {"sha256": "d4533ac8a3197dc35c47405d23d99e888c1d0135e267e03540c7451feaccff3f",
                          "bytes": 197504, "trained": "Face2Face faces (FaceForensics)"},
}


class ChecksumMismatch(Exception):
    pass


def sha256_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def public_url(weights: str) -> str:
    return f"https://github.com/{UPSTREAM_REPO}/raw/{UPSTREAM_COMMIT}/weights/{weights}.h5"


def verify_checkpoint(weights: str, path: str) -> str:
    expected = OFFICIAL[weights]["sha256"]
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumMismatch(
            f"refusing {path}: sha256 {actual} does not match the pinned sha256 {expected} of the published "
            f"{weights}.h5 ({public_url(weights)})")
    return actual


def export_onnx(model, out_path: str) -> None:
    import torch
    from mesonet_reference import IMAGE_SIZE, FakeLogit

    dummy = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        torch.onnx.export(
            FakeLogit(model).eval(), (dummy,), out_path,
            input_names=["face"], output_names=["logit"],
            dynamic_axes={"face": {0: "N"}, "logit": {0: "N"}},
            opset_version=OPSET, do_constant_folding=True)


def write_atomic(path: str, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def up_to_date(out: str, checkpoint_sha: str, extra: dict) -> bool:
    try:
        with open(os.path.join(out, "provenance.json")) as f:
            prov = json.load(f)
        return (prov.get("converter") == CONVERTER and prov.get("checkpointSha256") == checkpoint_sha
                and all(prov.get(k) == v for k, v in extra.items())
                and prov.get("onnxSha256") == sha256_of(os.path.join(out, "model.onnx")))
    except (OSError, ValueError):
        return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", required=True, choices=sorted(OFFICIAL), help="which published file")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="the published .h5 (verified against the pinned sha256)")
    src.add_argument("--random-seed", type=int, help="random weights of the same architecture (test fixture)")
    ap.add_argument("--out", required=True, help="directory for model.onnx and provenance.json")
    ap.add_argument("--meso4-hidden", choices=["leaky", "linear", "relu"], default="leaky",
                    help="Meso4 only: activation after Dense(16) (classifiers.py: LeakyReLU 0.1); see MODEL_CARD.md")
    ap.add_argument("--force", action="store_true", help="re-export even if DIR is up to date")
    args = ap.parse_args(argv)

    import torch
    from mesonet_reference import WEIGHTS, WeightsFileError, load_keras_model, random_model

    torch.set_grad_enabled(False)
    architecture = WEIGHTS[args.weights]
    meso4_hidden = args.meso4_hidden if architecture == "Meso4" else "leaky"
    os.makedirs(args.out, exist_ok=True)
    extra = {"weights": args.weights, "architecture": architecture, "hiddenActivation": meso4_hidden,
             "inputSize": 256}

    if args.checkpoint is not None:
        try:
            checkpoint_sha = verify_checkpoint(args.weights, args.checkpoint)
        except ChecksumMismatch as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        if not args.force and up_to_date(args.out, checkpoint_sha, extra):
            print(json.dumps({"onnx": os.path.join(args.out, "model.onnx"), "upToDate": True, **extra}))
            return 0
        try:
            model = load_keras_model(args.checkpoint, meso4_hidden)
        except WeightsFileError as err:
            print(f"error: {err}", file=sys.stderr)
            return 3
        info = OFFICIAL[args.weights]
        provenance = {
            "kind": "official",
            "source": public_url(args.weights),
            "checkpointSha256": checkpoint_sha,
            "license": "Apache-2.0 (DariusAf/MesoNet; see its NOTICE)",
            "description": (
                f"{args.weights}: {architecture} (Afchar et al., WIFS 2018) published weights trained on "
                f"{info['trained']}, converted from Keras 2.1.5 HDF5 to ONNX by DeepSafe; input face float32 "
                "[N,3,256,256] RGB in [0,1], output logit of P(fake) [N,1]"
            ),
        }
    else:
        model = random_model(architecture, args.random_seed)
        checkpoint_sha = None
        provenance = {
            "kind": "random-fixture",
            "source": f"random-seed:{args.random_seed}",
            "license": "not applicable (random weights generated by DeepSafe)",
            "description": (
                f"{architecture} layout with RANDOM weights (seed {args.random_seed}) for testing the serving "
                "path only: scores are meaningless"
            ),
        }

    onnx_path = os.path.join(args.out, "model.onnx")
    tmp = os.path.join(args.out, ".model.onnx.tmp")
    export_onnx(model, tmp)
    os.replace(tmp, onnx_path)
    provenance["onnxSha256"] = sha256_of(onnx_path)
    if checkpoint_sha is None:
        provenance.pop("checkpointSha256", None)
    provenance.update(extra, converter=CONVERTER, opset=OPSET)
    if args.random_seed is not None:
        # the fixture's weights, so the PyTorch reference can load exactly what was exported
        torch.save(model.state_dict(), os.path.join(args.out, "random.pt"))
    write_atomic(os.path.join(args.out, "provenance.json"), (json.dumps(provenance, indent=2) + "\n").encode())
    print(json.dumps({"onnx": onnx_path, **provenance}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
