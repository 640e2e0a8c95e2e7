"""PyTorch reference logits for UniversalFakeDetect on image files (upstream's eval preprocessing).

  reference_logits.py --backbone ViT-L-14.pt --head fc_weights.pth a.jpg b.png [--json-out F] [--dump-dir D]

Prints JSON {"backbone", "head", "blocks", "results": [{"file", "width", "height", "logit",
"probabilityFake"}]}. --dump-dir writes per image i: i.decoded.rgb (PIL convert("RGB"), HWC
uint8), i.crop.rgb (224x224 after the zero-padding centre crop) and i.tensor.f32 (normalised CHW
float32) for the parity tests. --bench N times N single-image forward passes (after warm-up) with
--threads T. Fully connected layers run through oneDNN unless --plain-blas (see
ufd_reference.use_onednn_linear).
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
    from export import CheckpointError, build_model, load_backbone, load_head
    from ufd_reference import INPUT_SIZE, preprocess_file

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", type=Path, required=True)
    p.add_argument("--head", type=Path, required=True)
    p.add_argument("images", nargs="*", type=Path)
    p.add_argument("--json-out", type=Path)
    p.add_argument("--dump-dir", type=Path)
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch default)")
    p.add_argument("--bench", type=int, default=0, help="time this many forward passes of one image")
    p.add_argument("--plain-blas", action="store_true",
                   help="fully connected layers through torch's BLAS instead of oneDNN (slow with Debian's netlib BLAS)")
    args = p.parse_args(argv)

    import ufd_reference
    ufd_reference.use_onednn_linear(not args.plain_blas)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        visual, _fmt, layers = load_backbone(args.backbone)
        model = build_model(visual, load_head(args.head), layers)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return 3
    del visual

    results = []
    if args.dump_dir:
        args.dump_dir.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        for i, path in enumerate(args.images):
            tensor, rgb, cropped = preprocess_file(str(path))
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
                (args.dump_dir / f"{i}.crop.rgb").write_bytes(np.asarray(cropped, dtype=np.uint8).tobytes())
                (args.dump_dir / f"{i}.tensor.f32").write_bytes(tensor.numpy().astype("<f4").tobytes())

        bench = None
        if args.bench > 0:
            x = torch.randn(1, 3, INPUT_SIZE, INPUT_SIZE)
            for _ in range(2):
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
                "linear": "plain-blas" if args.plain_blas else "onednn",
            }

    out = {"backbone": str(args.backbone), "head": str(args.head), "blocks": layers, "results": results}
    if bench:
        out["bench"] = bench
    text = json.dumps(out, indent=2)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
