"""Reference (PyTorch) LFCC-LCNN scores of audio files, window by window, as JSON on stdout.

    python3 reference_scores.py --variant sigmoid [--checkpoint PATH] [--format wav ...] FILE...
    python3 reference_scores.py --variant a-softmax --raw-f32 clip.f32 ...   # already decoded samples

Audio is decoded the way the service decodes it (@deepsafe/sdk decodeAudio): the ffmpeg CLI to mono
16 kHz float32 little-endian, with the same arguments (sdk/python/deepsafe_audio.py, shared with the other
audio references). The LFCC of the whole clip is computed by
lfcc_lcnn_reference.LFCC (--stft float64, the default: the STFT in float64 like the exported graph;
--stft float32: bit-identical to upstream). Windows follow src/plan.ts (planWindows): 750-frame windows
at a hop of 375 frames, the last aligned to the clip end, clips of at most 750 frame shifts tiled
(upstream), evenly spread windows past --max-windows.
--also-float32 adds each window's output with upstream's float32 STFT ("outputFloat32").
--dump-features DIR writes each window's 750 x 60 float32 input as DIR/<file>-<window>.f32.

The checkpoint defaults to $DEEPSAFE_WEIGHTS_MIRROR/nii_lfcc_lcnn/lfcc-lcnn-<variant>/trained_network.pt
and must match the pinned sha256.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python")))
from deepsafe_audio import add_input_arguments, add_window_arguments, clip_identity, file_formats, load_clip  # noqa: E402
from deepsafe_weights import resolve_checkpoint  # noqa: E402
from export import OFFICIAL, verify_checkpoint  # noqa: E402
from lfcc_lcnn_reference import FRAME_SHIFT, WINDOW_FRAMES, load_official, probability_fake  # noqa: E402

DEFAULT_HOP = 375
DEFAULT_MAX_WINDOWS = 32


def plan_windows(samples: int, hop: int = DEFAULT_HOP, max_windows: int = DEFAULT_MAX_WINDOWS,
                 on_too_many: str = "subsample") -> dict:
    """Python twin of planWindows() in src/plan.ts (integer arithmetic only)."""
    if samples < FRAME_SHIFT:
        raise ValueError(f"cannot window a clip of {samples} samples")
    usable = samples // FRAME_SHIFT
    base = {"totalFrames": usable + 1, "usableFrames": usable}
    if usable <= WINDOW_FRAMES:
        return {**base, "starts": [0], "padded": usable < WINDOW_FRAMES, "subsampled": False, "regularCount": 1}
    last = usable - WINDOW_FRAMES
    regular = last // hop + 1 + (0 if last % hop == 0 else 1)
    if regular <= max_windows:
        starts = list(range(0, last + 1, hop))
        if starts[-1] != last:
            starts.append(last)
        return {**base, "starts": starts, "padded": False, "subsampled": False, "regularCount": regular}
    if on_too_many == "error":
        raise ValueError(f"the clip needs {regular} windows, more than the limit of {max_windows}")
    starts = [last // 2] if max_windows == 1 else [(i * last) // (max_windows - 1) for i in range(max_windows)]
    return {**base, "starts": starts, "padded": False, "subsampled": True, "regularCount": regular}


def window_index(plan: dict, start: int) -> torch.Tensor:
    if plan["padded"]:
        return torch.arange(WINDOW_FRAMES) % plan["usableFrames"]
    return torch.arange(start, start + WINDOW_FRAMES)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_input_arguments(ap)
    ap.add_argument("--variant", required=True, choices=sorted(OFFICIAL))
    ap.add_argument("--checkpoint")
    ap.add_argument("--stft", choices=["float64", "float32"], default="float64")
    ap.add_argument("--also-float32", action="store_true", help="also report outputs with upstream's float32 STFT")
    ap.add_argument("--dump-features", metavar="DIR")
    add_window_arguments(ap, hop=DEFAULT_HOP, max_windows=DEFAULT_MAX_WINDOWS)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("LFCC_LCNN_TORCH_THREADS", "1")))
    args = ap.parse_args(argv)

    resolved = resolve_checkpoint(args.checkpoint, f"nii_lfcc_lcnn/{OFFICIAL[args.variant]['folder']}/trained_network.pt",
                                  lambda path: verify_checkpoint(args.variant, path))
    if resolved is None:
        return 2
    checkpoint, checkpoint_sha = resolved

    torch.set_num_threads(max(1, args.threads))
    torch.set_grad_enabled(False)
    dtype = torch.float64 if args.stft == "float64" else torch.float32
    model = load_official(args.variant, checkpoint, stft_dtype=dtype)
    model32 = load_official(args.variant, checkpoint, stft_dtype=torch.float32) if args.also_float32 else None

    try:
        formats = file_formats(args.files, args.format)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.dump_features:
        os.makedirs(args.dump_features, exist_ok=True)

    results = []
    windows_total, frontend_seconds, frontend_frames, network_seconds = 0, 0.0, 0, 0.0
    for file_index, (path, fmt) in enumerate(zip(args.files, formats)):
        samples = load_clip(path, fmt, args.raw_f32)
        plan = plan_windows(samples.shape[0], args.hop, args.max_windows, args.on_too_many)
        wave = torch.from_numpy(samples).unsqueeze(0)
        t0 = time.perf_counter()
        feats = model.features(wave.clone())  # (1, T, 60), the whole clip as upstream
        frontend_seconds += time.perf_counter() - t0
        frontend_frames += int(feats.shape[1])
        assert int(feats.shape[1]) == plan["totalFrames"]
        feats32 = model32.features(wave.clone()) if model32 is not None else None
        outputs, outputs32 = [], []
        for k, start in enumerate(plan["starts"]):
            index = window_index(plan, start)
            window = feats[:, index].contiguous()
            if args.dump_features:
                window.numpy().astype("<f4").tofile(os.path.join(args.dump_features, f"{file_index}-{k}.f32"))
            t0 = time.perf_counter()
            out = model.classify(window)[0]
            network_seconds += time.perf_counter() - t0
            windows_total += 1
            outputs.append([float(v) for v in out])
            if feats32 is not None:
                outputs32.append([float(v) for v in model32.classify(feats32[:, index].contiguous())[0]])
        probs = [probability_fake(args.variant, o) for o in outputs]
        entry = {
            "path": path,
            **clip_identity(samples),
            **plan,
            "output": outputs,
            "probabilityFake": probs,
            "clipProbabilityFake": sum(probs) / len(probs),
        }
        if feats32 is not None:
            entry["outputFloat32"] = outputs32
        results.append(entry)
    json.dump({"variant": args.variant, "checkpointSha256": checkpoint_sha, "stft": args.stft,
               "windowFrames": WINDOW_FRAMES, "hop": args.hop, "torchThreads": torch.get_num_threads(),
               "frontEndSecondsPerFrame": frontend_seconds / max(frontend_frames, 1),
               "networkSecondsPerWindow": network_seconds / max(windows_total, 1),
               "files": results}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
