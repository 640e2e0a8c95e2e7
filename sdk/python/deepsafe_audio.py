"""Python twin of the SDK's audio decoding and whole-clip windowing, for the PyTorch references of the
audio detectors (decoding and the command line: services/aasist, services/rawgat-st, services/lfcc-lcnn;
windowing: the fixed-length raw-waveform ones, services/aasist and services/rawgat-st).

* Decoding: the ffmpeg CLI with the same arguments as @deepsafe/sdk decodeAudio (sdk/src/decode/audio.ts
  + ffmpeg.ts): mono 16 kHz float32 little-endian, the demuxer forced the way the SDK forces the
  sniffed one. The services' parity tests check that both sides decode to identical samples (sha256).
* Windowing: the twin of sdk/src/audio/windows.ts (planWindows, extractWindow, probabilityFakeFromLogits,
  scoreClip), in integer arithmetic: 64,600-sample windows (the published models' nb_samp) at a hop
  (default half a window), the last aligned to the clip end, clips shorter than one window
  repeat-padded as upstream's evaluation pad does, evenly spread windows past the window cap.

Only numpy and the standard library at import time: the model call is passed in (reference_main, for
the PyTorch references of the raw-waveform models, imports torch when it runs).
Services import it by putting <repo>/sdk/python on sys.path, relative to their own __file__.
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
from typing import Callable, List, Optional, Sequence, TextIO, Tuple

import numpy as np

SAMPLE_RATE = 16000
# Input length of the published AASIST / AASIST-L / RawGAT-ST models (upstream nb_samp, ~4.04 s).
WINDOW_SAMPLES = 64600
DEFAULT_HOP = WINDOW_SAMPLES // 2  # 32,300: 50 % overlap
DEFAULT_MAX_WINDOWS = 32


def ffmpeg_decode_args(path: str, fmt: Optional[str], max_seconds: int = 600, sample_rate: int = SAMPLE_RATE) -> List[str]:
    """Same arguments as the SDK's decodeAudio (sdk/src/decode/audio.ts + ffmpeg.ts)."""
    args = [os.environ.get("DEEPSAFE_FFMPEG", "ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error",
            "-protocol_whitelist", "file"]
    if fmt:
        args += ["-f", fmt]
    # Decode slightly past the limit, as the SDK does (it rejects longer media rather than cutting it).
    args += ["-i", path, "-t", str(max_seconds + 1), "-vn", "-sn", "-dn", "-map", "0:a:0",
             "-ac", "1", "-ar", str(sample_rate), "-f", "f32le", "pipe:1"]
    return args


def decode(path: str, fmt: Optional[str]) -> np.ndarray:
    """Mono 16 kHz float32 samples of a media file, decoded as the service decodes it."""
    run = subprocess.run(ffmpeg_decode_args(path, fmt), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"ffmpeg could not decode {path}: {run.stderr.decode(errors='replace').strip()[-300:]}")
    return np.frombuffer(run.stdout, dtype="<f4").copy()


def read_f32(path: str) -> np.ndarray:
    """Samples already decoded to float32 little-endian (mono 16 kHz)."""
    with open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype="<f4").copy()


def repeat_pad(x: np.ndarray, length: int = WINDOW_SAMPLES) -> np.ndarray:
    """Upstream evaluation padding (pad() of the AASIST and RawGAT-ST evaluation code): tile a short clip
    until it is `length` long; crop longer ones."""
    if x.shape[0] >= length:
        return x[:length]
    reps = length // x.shape[0] + 1
    return np.tile(x, reps)[:length]


def plan_windows(length: int, hop: Optional[int] = None, max_windows: int = DEFAULT_MAX_WINDOWS,
                 on_too_many: str = "subsample", window_samples: int = WINDOW_SAMPLES) -> dict:
    """Python twin of planWindows() in sdk/src/audio/windows.ts (integer arithmetic only)."""
    if length <= 0:
        raise ValueError(f"cannot window a clip of {length} samples")
    if hop is None:
        hop = max(1, window_samples // 2)
    if length < window_samples:
        return {"starts": [0], "padded": True, "subsampled": False, "regularCount": 1}
    last = length - window_samples
    regular = last // hop + 1 + (0 if last % hop == 0 else 1)
    if regular <= max_windows:
        starts = list(range(0, last + 1, hop))
        if starts[-1] != last:
            starts.append(last)
        return {"starts": starts, "padded": False, "subsampled": False, "regularCount": regular}
    if on_too_many == "error":
        raise ValueError(f"the clip needs {regular} windows of {window_samples} samples, more than the limit of {max_windows}")
    if max_windows == 1:
        starts = [last // 2]
    else:
        starts = [(i * last) // (max_windows - 1) for i in range(max_windows)]
    return {"starts": starts, "padded": False, "subsampled": True, "regularCount": regular}


def extract_window(samples: np.ndarray, start: int, window_samples: int = WINDOW_SAMPLES) -> np.ndarray:
    """The window_samples samples from `start` (twin of extractWindow: tiled from the start if the clip is short)."""
    if samples.shape[0] >= start + window_samples:
        return samples[start:start + window_samples]
    if start != 0 or samples.shape[0] == 0:
        raise ValueError(f"window at {start} does not fit {samples.shape[0]} samples")
    return repeat_pad(samples, window_samples)


def p_fake(spoof: float, bonafide: float) -> float:
    """softmax([spoof, bonafide])[0] = sigmoid(spoof - bonafide), computed without overflow."""
    d = spoof - bonafide
    return 1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d))


# One network call on one float32 window -> (spoof, bona fide) logits.
WindowInference = Callable[[np.ndarray], Tuple[float, float]]


def score_clip(infer: WindowInference, samples: np.ndarray, hop: Optional[int] = None,
               max_windows: int = DEFAULT_MAX_WINDOWS, on_too_many: str = "subsample",
               window_samples: int = WINDOW_SAMPLES) -> Tuple[dict, float]:
    """Score every planned window of a clip (twin of scoreClip): the clip's JSON record (the fields the
    parity tests read) and the seconds spent in `infer`."""
    plan = plan_windows(samples.shape[0], hop, max_windows, on_too_many, window_samples)
    logits = []
    seconds = 0.0
    for start in plan["starts"]:
        x = np.ascontiguousarray(extract_window(samples, start, window_samples), dtype=np.float32)
        t0 = time.perf_counter()
        spoof, bonafide = infer(x)
        seconds += time.perf_counter() - t0
        logits.append([float(spoof), float(bonafide)])
    probs = [p_fake(a, b) for a, b in logits]
    return {
        **clip_identity(samples),
        **plan,
        "logits": logits,
        "probabilityFake": probs,
        "clipProbabilityFake": sum(probs) / len(probs),
    }, seconds


def clip_identity(samples: np.ndarray) -> dict:
    """How a reference report identifies a decoded clip: its sample count and the sha256 of its float32 bytes."""
    return {"samples": int(samples.shape[0]), "samplesSha256": hashlib.sha256(samples.astype("<f4").tobytes()).hexdigest()}


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """The input options of every reference-scoring script: files, --format, --raw-f32."""
    parser.add_argument("files", nargs="+")
    parser.add_argument("--format", action="append",
                        help="ffmpeg demuxer to force (the SDK forces the sniffed one): once for all files or once per file")
    parser.add_argument("--raw-f32", action="store_true", help="files are already mono 16 kHz float32 little-endian")


def add_window_arguments(parser: argparse.ArgumentParser, hop: int = DEFAULT_HOP,
                         max_windows: int = DEFAULT_MAX_WINDOWS) -> None:
    """--hop (in the model's window units), --max-windows, --on-too-many."""
    parser.add_argument("--hop", type=int, default=hop)
    parser.add_argument("--max-windows", type=int, default=max_windows)
    parser.add_argument("--on-too-many", choices=["subsample", "error"], default="subsample")


def add_clip_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line options of the raw-waveform references (inputs, decoding, sample windows)."""
    add_input_arguments(parser)
    add_window_arguments(parser)


def file_formats(files: Sequence[str], formats: Optional[Sequence[str]]) -> List[Optional[str]]:
    """The demuxer for each file from --format given once for all or once per file; ValueError otherwise."""
    chosen: List[Optional[str]] = list(formats) if formats else [None]
    if len(chosen) not in (1, len(files)):
        raise ValueError("give --format once, or once per file")
    return chosen * len(files) if len(chosen) == 1 else chosen


def load_clip(path: str, fmt: Optional[str], raw_f32: bool) -> np.ndarray:
    return read_f32(path) if raw_f32 else decode(path, fmt)


def write_scores(args: argparse.Namespace, infer: WindowInference, header: dict,
                 window_samples: int = WINDOW_SAMPLES, out: TextIO = sys.stdout) -> int:
    """Score every file of `args` (the options of add_clip_arguments) and write one JSON report:
    `header`, windowSamples, hop, secondsPerWindow (mean time in `infer`) and one record per file, as
    the services' parity tests read it. Returns the exit status (2 for a bad --format list)."""
    try:
        formats = file_formats(args.files, args.format)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    files = []
    total_windows, total_seconds = 0, 0.0
    for path, fmt in zip(args.files, formats):
        clip, seconds = score_clip(infer, load_clip(path, fmt, args.raw_f32), args.hop, args.max_windows,
                                   args.on_too_many, window_samples)
        files.append({"path": path, **clip})
        total_windows += len(clip["starts"])
        total_seconds += seconds
    json.dump({**header, "windowSamples": window_samples, "hop": args.hop,
               "secondsPerWindow": total_seconds / max(total_windows, 1), "files": files}, out)
    out.write("\n")
    return 0


def reference_main(argv: Optional[Sequence[str]], doc: str, variants: Sequence[str], threads_env: str,
                   checkpoint_in_mirror: Callable[[str], str], verify: Callable[[str, str], str],
                   load: Callable[[str, str], object], window_samples: int = WINDOW_SAMPLES,
                   also: tuple = ()) -> int:
    """The whole reference-scoring script of a raw-waveform model (PyTorch, [spoof, bona fide] logits):
    --variant, --checkpoint (default $DEEPSAFE_WEIGHTS_MIRROR/<checkpoint_in_mirror(variant)>, checked by
    verify(variant, path)), --threads (default $<threads_env> or 1) and the options of add_clip_arguments;
    load(variant, path) builds the model; the report is write_scores'. Returns the exit status."""
    import torch
    from deepsafe_weights import resolve_checkpoint

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", required=True, choices=list(variants))
    ap.add_argument("--checkpoint")
    ap.add_argument("--threads", type=int, default=int(os.environ.get(threads_env, "1")))
    add_clip_arguments(ap)
    args = ap.parse_args(argv)

    resolved = resolve_checkpoint(args.checkpoint, checkpoint_in_mirror(args.variant),
                                  lambda path: verify(args.variant, path), also=also)
    if resolved is None:
        return 2
    checkpoint, checkpoint_sha = resolved

    torch.set_num_threads(max(1, args.threads))
    torch.set_grad_enabled(False)
    model = load(args.variant, checkpoint)

    def infer(window: np.ndarray) -> Tuple[float, float]:
        out = model(torch.from_numpy(window).unsqueeze(0))[0]
        return float(out[0]), float(out[1])

    header = {"variant": args.variant, "checkpointSha256": checkpoint_sha, "torchThreads": torch.get_num_threads()}
    return write_scores(args, infer, header, window_samples=window_samples)
