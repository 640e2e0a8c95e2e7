"""Reference scores for the parity tests: our numpy face crops + our PyTorch model, and upstream's video-level
aggregation (cross-efficient-vit/test.py) in plain Python.

    python3 reference_scores.py --checkpoint model.pth --manifest manifest.json [--threads 1] [--batch 8]
    python3 reference_scores.py --aggregate-only --manifest manifest.json   # no model: only the video rule
                                                                            # (the manifest may be a list of them)

manifest.json:
  {"frames": [{"file": "<raw RGB24 file>", "width": W, "height": H}, ...],
   "faces":  [{"frame": i, "track": t, "box": {"x", "y", "width", "height"}}, ...],   # in scoring order
   "tensors": "<float32 file: the TypeScript input tensors, faces order>"           # optional
   "logits":  [TypeScript logits, faces order],                                      # optional
   "probabilities": [per-face P(fake), faces order]}                                 # --aggregate-only, instead of logits
Prints JSON: per-face reference logits, the largest |TS tensor - reference tensor| (and how many values differ),
the aggregation of the reference logits and of the given logits, and PyTorch timings.

Upstream's aggregation: faces are grouped per face index ("_0", "_1", "_2": here, our tracks); each group's
score is the mean of sigmoid(logit) over its faces; with more than one group the video score is the first group
mean above 0.55 (custom_video_round), else statistics.mean of the group means; with one group, its mean.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cross_efficient_vit import load_checkpoint  # noqa: E402
from face_crops import face_tensor  # noqa: E402

TRACK_THRESHOLD = 0.55


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def custom_video_round(preds: list[float]) -> float:
    for value in preds:
        if value > TRACK_THRESHOLD:
            return value
    return statistics.mean(preds)


def aggregate(tracks: list[int], logits: list[float] | None = None, probabilities: list[float] | None = None) -> dict:
    if probabilities is None:
        probabilities = [sigmoid(x) for x in logits]
    order: list[int] = []
    probs: dict[int, list[float]] = {}
    for track, p in zip(tracks, probabilities):
        if track not in probs:
            order.append(track)
            probs[track] = []
        probs[track].append(p)
    order.sort()
    means = [sum(probs[t]) / len(probs[t]) for t in order]
    video = custom_video_round(means) if len(means) > 1 else means[0]
    return {"tracks": order, "trackMeans": means, "probabilityFake": video}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint")
    ap.add_argument("--aggregate-only", action="store_true", help="no model: apply the video rule to the given logits/probabilities")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--timing-faces", type=int, default=3, help="faces also run one by one for the batch-1 timing")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    base = os.path.dirname(os.path.abspath(args.manifest))
    with open(args.manifest) as f:
        manifest = json.load(f)
    if args.aggregate_only:  # one manifest, or a list of them

        def rule(m: dict) -> dict:
            tracks = [f["track"] for f in m["faces"]]
            given = {"probabilities": m["probabilities"]} if "probabilities" in m else {"logits": m["logits"]}
            return aggregate(tracks, **given)

        out = [rule(m) for m in manifest] if isinstance(manifest, list) else rule(manifest)
        print(json.dumps({"aggregationOfGiven": out}))
        return 0
    if not args.checkpoint:
        ap.error("--checkpoint is required unless --aggregate-only")

    frames = []
    for fr in manifest["frames"]:
        raw = np.fromfile(os.path.join(base, fr["file"]), dtype=np.uint8)
        frames.append(raw.reshape(fr["height"], fr["width"], 3))
    faces = manifest["faces"]
    t0 = time.perf_counter()
    tensors = np.stack([face_tensor(frames[f["frame"]], f["box"]) for f in faces]) if faces else np.zeros((0, 3, 224, 224), np.float32)
    crop_ms = (time.perf_counter() - t0) * 1000

    result: dict = {"faces": len(faces), "numpyCropMsPerFace": crop_ms / max(1, len(faces))}
    if manifest.get("tensors"):
        ts = np.fromfile(os.path.join(base, manifest["tensors"]), dtype=np.float32).reshape(tensors.shape)
        diff = np.abs(ts.astype(np.float64) - tensors.astype(np.float64))
        result["tensorMaxAbsDiff"] = float(diff.max()) if diff.size else 0.0
        result["tensorDiffCount"] = int((diff > 0).sum())

    model = load_checkpoint(args.checkpoint)
    x = torch.from_numpy(tensors)
    logits: list[float] = []
    t0 = time.perf_counter()
    for start in range(0, len(faces), args.batch):
        logits.extend(float(v) for v in model(x[start : start + args.batch]).reshape(-1))
    batched_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    n1 = min(args.timing_faces, len(faces))
    for i in range(n1):
        model(x[i : i + 1])
    single_ms = (time.perf_counter() - t0) * 1000
    result["logits"] = logits
    result["torchMsPerFace"] = {
        "batch1": single_ms / max(1, n1),
        f"batch{args.batch}": batched_ms / max(1, len(faces)),
        "threads": args.threads,
    }
    tracks = [f["track"] for f in faces]
    if faces:
        result["aggregationOfReference"] = aggregate(tracks, logits)
        if manifest.get("logits") is not None:
            result["aggregationOfGiven"] = aggregate(tracks, manifest["logits"])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
