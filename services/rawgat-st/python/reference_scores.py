"""Reference (PyTorch) RawGAT-ST scores of audio files, window by window, as JSON on stdout.

    python3 reference_scores.py --variant mul [--checkpoint PATH] [--format wav ...] FILE...
    python3 reference_scores.py --variant add --raw-f32 clip.f32 ...   # already decoded samples

Audio is decoded the way the service decodes it (@deepsafe/sdk decodeAudio): the ffmpeg CLI to mono
16 kHz float32 little-endian, with the same arguments. Windows follow src/windows.ts (planWindows):
64,600-sample windows at a hop (default 32,300), the last aligned to the clip end, clips shorter
than one window repeat-padded, evenly spread windows past --max-windows.

The checkpoint defaults to $DEEPSAFE_WEIGHTS_MIRROR/rawgat_st/RawGAT_ST_<variant>/Best_epoch.pth and must
match the pinned sha256.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import time
from typing import List, Optional

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawgat_reference import NB_SAMP, SAMPLE_RATE, VARIANTS, load_official, repeat_pad  # noqa: E402
from export import ChecksumMismatch, verify_checkpoint  # noqa: E402

DEFAULT_HOP = 32300
DEFAULT_MAX_WINDOWS = 32


def ffmpeg_decode_args(path: str, fmt: Optional[str], max_seconds: int = 600) -> List[str]:
    """Same arguments as the SDK's decodeAudio (sdk/src/decode/audio.ts + ffmpeg.ts)."""
    args = [os.environ.get("DEEPSAFE_FFMPEG", "ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "file"]
    if fmt:
        args += ["-f", fmt]
    args += ["-i", path, "-t", str(max_seconds + 1), "-vn", "-sn", "-dn", "-map", "0:a:0",
             "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "pipe:1"]
    return args


def decode(path: str, fmt: Optional[str]) -> np.ndarray:
    run = subprocess.run(ffmpeg_decode_args(path, fmt), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"ffmpeg could not decode {path}: {run.stderr.decode(errors='replace').strip()[-300:]}")
    return np.frombuffer(run.stdout, dtype="<f4").copy()


def plan_windows(length: int, hop: int = DEFAULT_HOP, max_windows: int = DEFAULT_MAX_WINDOWS,
                 on_too_many: str = "subsample") -> dict:
    """Python twin of planWindows() in src/windows.ts (integer arithmetic only)."""
    if length <= 0:
        raise ValueError(f"cannot window a clip of {length} samples")
    if length < NB_SAMP:
        return {"starts": [0], "padded": True, "subsampled": False, "regularCount": 1}
    last = length - NB_SAMP
    regular = last // hop + 1 + (0 if last % hop == 0 else 1)
    if regular <= max_windows:
        starts = list(range(0, last + 1, hop))
        if starts[-1] != last:
            starts.append(last)
        return {"starts": starts, "padded": False, "subsampled": False, "regularCount": regular}
    if on_too_many == "error":
        raise ValueError(f"the clip needs {regular} windows, more than the limit of {max_windows}")
    if max_windows == 1:
        starts = [last // 2]
    else:
        starts = [(i * last) // (max_windows - 1) for i in range(max_windows)]
    return {"starts": starts, "padded": False, "subsampled": True, "regularCount": regular}


def window(samples: np.ndarray, start: int) -> np.ndarray:
    if samples.shape[0] >= start + NB_SAMP:
        return samples[start:start + NB_SAMP]
    assert start == 0
    return repeat_pad(samples, NB_SAMP)


def p_fake(spoof: float, bonafide: float) -> float:
    d = spoof - bonafide
    return 1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--variant", required=True, choices=list(VARIANTS))
    ap.add_argument("--checkpoint")
    ap.add_argument("--format", action="append",
                    help="ffmpeg demuxer to force (the SDK forces the sniffed one): once for all files or once per file")
    ap.add_argument("--raw-f32", action="store_true", help="files are already mono 16 kHz float32 little-endian")
    ap.add_argument("--hop", type=int, default=DEFAULT_HOP)
    ap.add_argument("--max-windows", type=int, default=DEFAULT_MAX_WINDOWS)
    ap.add_argument("--on-too-many", choices=["subsample", "error"], default="subsample")
    ap.add_argument("--threads", type=int, default=int(os.environ.get("RAWGAT_TORCH_THREADS", "1")))
    args = ap.parse_args(argv)

    checkpoint = args.checkpoint
    if checkpoint is None:
        mirror = os.environ.get("DEEPSAFE_WEIGHTS_MIRROR")
        if not mirror:
            print("error: pass --checkpoint or set DEEPSAFE_WEIGHTS_MIRROR", file=sys.stderr)
            return 2
        checkpoint = os.path.join(mirror, "rawgat_st", f"RawGAT_ST_{args.variant}", "Best_epoch.pth")
    try:
        checkpoint_sha = verify_checkpoint(args.variant, checkpoint)
    except (ChecksumMismatch, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    torch.set_num_threads(max(1, args.threads))
    torch.set_grad_enabled(False)
    model = load_official(args.variant, checkpoint)

    formats = args.format or [None]
    if len(formats) not in (1, len(args.files)):
        print("error: give --format once, or once per file", file=sys.stderr)
        return 2
    if len(formats) == 1:
        formats = formats * len(args.files)

    results = []
    total_windows, total_seconds = 0, 0.0
    for path, fmt in zip(args.files, formats):
        if args.raw_f32:
            with open(path, "rb") as f:
                samples = np.frombuffer(f.read(), dtype="<f4").copy()
        else:
            samples = decode(path, fmt)
        plan = plan_windows(samples.shape[0], args.hop, args.max_windows, args.on_too_many)
        logits = []
        for start in plan["starts"]:
            x = torch.from_numpy(np.ascontiguousarray(window(samples, start), dtype=np.float32)).unsqueeze(0)
            t0 = time.perf_counter()
            out = model(x)[0]
            total_seconds += time.perf_counter() - t0
            total_windows += 1
            logits.append([float(out[0]), float(out[1])])
        probs = [p_fake(a, b) for a, b in logits]
        results.append({
            "path": path,
            "samples": int(samples.shape[0]),
            "samplesSha256": hashlib.sha256(samples.astype("<f4").tobytes()).hexdigest(),
            **plan,
            "logits": logits,
            "probabilityFake": probs,
            "clipProbabilityFake": sum(probs) / len(probs),
        })
    json.dump({"variant": args.variant, "checkpointSha256": checkpoint_sha, "windowSamples": NB_SAMP,
               "hop": args.hop, "torchThreads": torch.get_num_threads(),
               "secondsPerWindow": total_seconds / max(total_windows, 1), "files": results}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
