"""PyTorch reference scores for MesoNet, on face crops or on images with given landmarks.

  reference_scores.py --checkpoint W.h5 [--meso4-hidden leaky] crop1.png crop2.jpg ...
  reference_scores.py --model-dir DIR ...            a random-fixture export (loads DIR/random.pt)
  reference_scores.py ... --faces faces.json          align first: faces.json = {"image": path,
                                                      "faces": [[[x, y] x 5 landmarks], ...], "scale": 1.0}
Crops must be 256x256 unless --keras-resize (PIL NEAREST to 256x256, as Keras' flow_from_directory).
Prints JSON {"results": [{"file", "face", "logit", "probabilityFake"}]}, logit = logit of P(fake);
--dump-dir DIR writes DIR/<n>.crop.rgb (256x256x3 uint8) and DIR/<n>.tensor.f32 (CHW float32) per result.
--bench N times N single-face forward passes with --threads T.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def load_model(args):
    import torch
    from mesonet_reference import build, load_keras_model

    if args.checkpoint:
        return load_keras_model(args.checkpoint, args.meso4_hidden)
    with open(os.path.join(args.model_dir, "provenance.json")) as f:
        prov = json.load(f)
    if prov.get("kind") != "random-fixture":
        raise SystemExit("--model-dir is for random fixtures; pass --checkpoint for official weights")
    model = build(prov["architecture"], prov.get("hiddenActivation", "leaky"))
    state = torch.load(os.path.join(args.model_dir, "random.pt"), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def main(argv=None) -> int:
    import numpy as np
    import torch
    from PIL import Image

    from face_align import align_face
    from mesonet_reference import image_tensor, sigmoid

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint")
    src.add_argument("--model-dir")
    p.add_argument("--meso4-hidden", default="leaky", choices=["leaky", "linear", "relu"])
    p.add_argument("crops", nargs="*")
    p.add_argument("--faces", action="append", default=[], help="JSON with an image and its faces' landmarks")
    p.add_argument("--keras-resize", action="store_true")
    p.add_argument("--dump-dir")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--bench", type=int, default=0)
    args = p.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    model = load_model(args)

    items = []  # (file, face index, 256x256x3 uint8)
    for path in args.crops:
        img = Image.open(path).convert("RGB")
        if img.size != (256, 256):
            if not args.keras_resize:
                raise SystemExit(f"{path} is {img.size[0]}x{img.size[1]}, not 256x256 (use --keras-resize)")
            img = img.resize((256, 256), Image.NEAREST)
        items.append((path, None, np.asarray(img, dtype=np.uint8)))
    for spec in args.faces:
        with open(spec) as f:
            desc = json.load(f)
        rgb = np.asarray(Image.open(desc["image"]).convert("RGB"), dtype=np.uint8)
        for i, landmarks in enumerate(desc["faces"]):
            items.append((desc["image"], i, align_face(rgb, landmarks, float(desc.get("scale", 1.0)))))

    if args.dump_dir:
        os.makedirs(args.dump_dir, exist_ok=True)
    results = []
    for n, (path, face, crop) in enumerate(items):
        x = image_tensor(crop)
        logit_fake = -float(model(x)[0, 0])
        results.append({"file": path, "face": face, "logit": logit_fake, "probabilityFake": sigmoid(logit_fake)})
        if args.dump_dir:
            with open(os.path.join(args.dump_dir, f"{n}.crop.rgb"), "wb") as f:
                f.write(crop.tobytes())
            with open(os.path.join(args.dump_dir, f"{n}.tensor.f32"), "wb") as f:
                f.write(x[0].numpy().astype("<f4").tobytes())

    out = {"results": results}
    if args.bench > 0:
        x = torch.rand(1, 3, 256, 256)
        for _ in range(3):
            model(x)
        times = []
        for _ in range(args.bench):
            t0 = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out["bench"] = {"threads": torch.get_num_threads(), "runs": len(times), "medianMs": times[len(times) // 2],
                        "torch": torch.__version__}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
