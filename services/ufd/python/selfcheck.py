"""Checks of our reference against independent formulations (prints JSON, exits 1 on failure).

1. Model: ufd_reference.VisionTransformer (explicit batch-first attention) against
   make_random_clip.ClipLike.visual, which is structured the way openai/CLIP's model.py is
   (nn.MultiheadAttention on sequence-first input), with the same random weights in fp32;
   also with our fully connected layers on oneDNN (what reference_logits.py uses).
2. Crop geometry: ufd_reference.center_crop_reference (PIL pad + crop) against a direct NumPy
   formulation of torchvision's CenterCrop (pad (224 - s) // 2 before / the rest after, then start
   at round((s - 224) / 2) with Python's round) on sizes around 224, odd and even.

  selfcheck.py [--layers 1]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def torchvision_center_crop_numpy(arr, crop: int = 224):
    import numpy as np

    h, w = arr.shape[:2]
    pad_t = (crop - h) // 2 if h < crop else 0
    pad_b = (crop - h + 1) // 2 if h < crop else 0
    pad_l = (crop - w) // 2 if w < crop else 0
    pad_r = (crop - w + 1) // 2 if w < crop else 0
    arr = np.pad(arr, ((pad_t, pad_b), (pad_l, pad_r), (0, 0)))
    h, w = arr.shape[:2]
    top = int(round((h - crop) / 2.0))
    left = int(round((w - crop) / 2.0))
    return arr[top:top + crop, left:left + crop]


def main(argv=None) -> int:
    import numpy as np
    import torch
    from PIL import Image
    from make_random_clip import random_clip
    import ufd_reference
    from ufd_reference import INPUT_SIZE, VisionTransformer, center_crop_reference

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--layers", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(1)

    upstream = random_clip(args.layers, seed=3).visual.eval()
    ours = VisionTransformer(layers=args.layers).eval()
    ours.load_state_dict(upstream.state_dict(), strict=True)
    x = torch.randn(1, 3, INPUT_SIZE, INPUT_SIZE)
    with torch.no_grad():
        a, b = upstream(x), ours(x)
        ufd_reference.use_onednn_linear(True)
        c = ours(x)
        ufd_reference.use_onednn_linear(False)
    model_diff = float((a - b).abs().max())
    onednn_diff = float((a - c).abs().max())
    feature_scale = float(a.abs().max())

    sizes = [1, 7, 100, 101, 223, 224, 225, 226, 227, 229, 231, 300, 333]
    rng = np.random.default_rng(0)
    crop_mismatch = []
    for h in sizes:
        for w in sizes:
            arr = rng.integers(1, 256, size=(h, w, 3), dtype=np.uint8)
            mine = np.asarray(center_crop_reference(Image.fromarray(arr)))
            ref = torchvision_center_crop_numpy(arr)
            if mine.shape != (224, 224, 3) or not np.array_equal(mine, ref):
                crop_mismatch.append(f"{w}x{h}")

    ok = max(model_diff, onednn_diff) <= 1e-4 * max(1.0, feature_scale) and not crop_mismatch
    print(json.dumps({
        "ok": ok, "layers": args.layers, "modelMaxAbsDiff": model_diff, "onednnMaxAbsDiff": onednn_diff, "featureMaxAbs": feature_scale,
        "cropSizesChecked": len(sizes) ** 2, "cropMismatches": crop_mismatch,
    }))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
