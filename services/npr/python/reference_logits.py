"""PyTorch reference logits for NPR on image files, using upstream's evaluation preprocessing.

  reference_logits.py --checkpoint NPR.pth a.jpg b.png [--json-out out.json] [--dump-dir DIR]

Prints JSON: {"checkpoint", "results": [{"file", "width", "height", "logit", "probabilityFake"}]}.
--dump-dir also writes, per image i: i.decoded.rgb (PIL convert("RGB") pixels, HWC uint8),
i.resized.rgb (256x256 after PIL bilinear) and i.tensor.f32 (normalized CHW float32), for parity tests.
--bench N times N single-image forward passes (after warmup) with --threads T.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main(argv=None) -> int:
    import numpy as np
    import torch
    from export import CheckpointError, build_model, load_state_dict
    from npr_reference import load_image_rgb, resize_reference, to_normalized_tensor

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("images", nargs="*", type=Path)
    p.add_argument("--json-out", type=Path)
    p.add_argument("--dump-dir", type=Path)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    p.add_argument("--bench", type=int, default=0, help="time this many forward passes of one image")
    args = p.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        model = build_model(load_state_dict(args.checkpoint))
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3

    results = []
    if args.dump_dir:
        args.dump_dir.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        for i, path in enumerate(args.images):
            rgb = load_image_rgb(str(path))
            resized = resize_reference(rgb)
            tensor = to_normalized_tensor(resized)
            logit = float(model(tensor.unsqueeze(0))[0, 0])
            results.append({
                "file": str(path),
                "width": rgb.width,
                "height": rgb.height,
                "logit": logit,
                "probabilityFake": float(torch.sigmoid(torch.tensor(logit, dtype=torch.float64))),
            })
            if args.dump_dir:
                (args.dump_dir / f"{i}.decoded.rgb").write_bytes(np.asarray(rgb, dtype=np.uint8).tobytes())
                (args.dump_dir / f"{i}.resized.rgb").write_bytes(np.asarray(resized, dtype=np.uint8).tobytes())
                (args.dump_dir / f"{i}.tensor.f32").write_bytes(tensor.numpy().astype("<f4").tobytes())

        bench = None
        if args.bench > 0:
            x = torch.randn(1, 3, 256, 256)
            for _ in range(3):
                model(x)
            times = []
            for _ in range(args.bench):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            bench = {
                "threads": torch.get_num_threads(),
                "runs": len(times),
                "medianMs": times[len(times) // 2],
                "minMs": times[0],
                "torch": torch.__version__,
            }

    out = {"checkpoint": str(args.checkpoint), "results": results}
    if bench:
        out["bench"] = bench
    text = json.dumps(out, indent=2)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
