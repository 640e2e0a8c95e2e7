"""Reference (PyTorch) AASIST scores of audio files, window by window, as JSON on stdout.

    python3 reference_scores.py --variant AASIST [--checkpoint PATH] [--format wav ...] FILE...
    python3 reference_scores.py --variant AASIST-L --raw-f32 clip.f32 ...   # already decoded samples

Audio is decoded the way the service decodes it (@deepsafe/sdk decodeAudio): the ffmpeg CLI to mono
16 kHz float32 little-endian, with the same arguments. Windows follow the SDK's planWindows
(sdk/src/audio/windows.ts): 64,600-sample windows at a hop (default 32,300), the last aligned to the
clip end, clips shorter than one window repeat-padded, evenly spread windows past --max-windows.
Decoding and windowing are shared with the other audio references: sdk/python/deepsafe_audio.py.

The checkpoint defaults to $DEEPSAFE_WEIGHTS_MIRROR/aasist/<variant>.pth and must match the pinned sha256.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from deepsafe_audio import add_clip_arguments, write_scores  # noqa: E402
from aasist_reference import NB_SAMP, load_official  # noqa: E402
from export import ChecksumMismatch, verify_checkpoint  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", required=True, choices=["AASIST", "AASIST-L"])
    ap.add_argument("--checkpoint")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("AASIST_TORCH_THREADS", "1")))
    add_clip_arguments(ap)
    args = ap.parse_args(argv)

    checkpoint = args.checkpoint
    if checkpoint is None:
        mirror = os.environ.get("DEEPSAFE_WEIGHTS_MIRROR")
        if not mirror:
            print("error: pass --checkpoint or set DEEPSAFE_WEIGHTS_MIRROR", file=sys.stderr)
            return 2
        checkpoint = os.path.join(mirror, "aasist", f"{args.variant}.pth")
    try:
        checkpoint_sha = verify_checkpoint(args.variant, checkpoint)
    except ChecksumMismatch as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    torch.set_num_threads(max(1, args.threads))
    torch.set_grad_enabled(False)
    model = load_official(args.variant, checkpoint)

    def infer(window: np.ndarray):
        out = model(torch.from_numpy(window).unsqueeze(0))[0]
        return float(out[0]), float(out[1])

    header = {"variant": args.variant, "checkpointSha256": checkpoint_sha, "torchThreads": torch.get_num_threads()}
    return write_scores(args, infer, header, window_samples=NB_SAMP)


if __name__ == "__main__":
    sys.exit(main())
