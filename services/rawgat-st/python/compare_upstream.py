"""Check our implementation against the upstream module, from a local checkout of
eurecom-asp/RawGAT-ST-antispoofing at e3b049f79b3cd9552e66f6d0ba844cbb9399c479 (not part of this
repository; the upstream code is imported from that directory, never copied here).

    python3 compare_upstream.py --upstream /path/to/RawGAT-ST-antispoofing --mirror /work/shared/weights

For each variant: the sinc filters must be bit-identical, and logits on random and structured
inputs must agree (prints the max |delta|). Upstream imports scipy.io without using it; a stub is
installed when scipy is missing.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawgat_reference import NB_SAMP, load_official  # noqa: E402

UPSTREAM_FILES = {"mul": "model.py", "add": "RawGAT_models/model_RawGAT_ST_add.py", "cat": "RawGAT_models/model_RawGAT_ST_concat.py"}
CONFIG = {"nb_samp": 64600, "out_channels": 70, "first_conv": 128, "in_channels": 1,
          "filts": [32, [32, 32], [32, 64], [64, 64]], "blocks": [2, 4], "nb_classes": 2}


def import_upstream(path: str, name: str):
    if "scipy" not in sys.modules:
        try:
            import scipy.io  # noqa: F401
        except ImportError:
            scipy = types.ModuleType("scipy")
            scipy.io = types.ModuleType("scipy.io")
            sys.modules["scipy"] = scipy
            sys.modules["scipy.io"] = scipy.io
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inputs() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(NB_SAMP, dtype=torch.float64) / 16000
    tone = (0.3 * torch.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * torch.sin(2 * np.pi * 3 * t))).float()
    chirp = (0.4 * torch.sin(2 * np.pi * (100 * t + 400 * t * t))).float()
    return torch.stack([
        0.1 * torch.randn(NB_SAMP, generator=g),
        0.5 * torch.randn(NB_SAMP, generator=g),
        tone,
        chirp,
        tone + 0.01 * torch.randn(NB_SAMP, generator=g),
    ])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--mirror", default=os.environ.get("DEEPSAFE_WEIGHTS_MIRROR", "/work/shared/weights"))
    args = ap.parse_args(argv)
    torch.set_grad_enabled(False)
    x = inputs()
    report = {}
    for variant, rel in UPSTREAM_FILES.items():
        checkpoint = os.path.join(args.mirror, "rawgat_st", f"RawGAT_ST_{variant}", "Best_epoch.pth")
        up_mod = import_upstream(os.path.join(args.upstream, rel), f"upstream_{variant}")
        upstream = up_mod.RawGAT_ST(CONFIG, "cpu")
        upstream.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True), strict=True)
        upstream.eval()
        ours = load_official(variant, checkpoint)

        up_logits = torch.cat([upstream(x[i:i + 1], Freq_aug=False) for i in range(x.shape[0])])
        filters_equal = bool(torch.equal(upstream.conv_time.filters, ours.conv_time.filters))
        our_logits = ours(x)
        report[variant] = {
            "filtersBitIdentical": filters_equal,
            "maxAbsDeltaLogit": float((up_logits - our_logits).abs().max()),
            "upstreamLogits": up_logits.tolist(),
        }
    print(json.dumps(report, indent=1))
    ok = all(r["filtersBitIdentical"] and r["maxAbsDeltaLogit"] < 1e-4 for r in report.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
