"""Write PIL bilinear-resize cases for the TypeScript pixel-exactness test.

  pil_resize_cases.py OUT_DIR

For each case: <name>.in (RGB uint8 HWC) and <name>.out (PIL Image.resize(..., BILINEAR) of it);
OUT_DIR/cases.json lists name, source size and target size, plus the Pillow version.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import PIL
from PIL import Image

# (width, height) -> (width, height): downscale, upscale, odd sizes, extreme aspect ratios,
# one-axis-only (a pass skipped), identity, and non-square targets.
CASES = [
    ((640, 480), (256, 256)),
    ((1999, 1201), (256, 256)),
    ((4000, 3), (256, 256)),
    ((3, 4000), (256, 256)),
    ((57, 43), (256, 256)),
    ((8, 8), (256, 256)),
    ((333, 517), (256, 256)),
    ((1000, 37), (256, 256)),
    ((256, 256), (256, 256)),
    ((256, 700), (256, 256)),
    ((700, 256), (256, 256)),
    ((255, 257), (256, 256)),
    ((513, 257), (17, 300)),
    ((300, 300), (299, 301)),
    ((1, 1), (5, 3)),
    ((511, 383), (1023, 97)),
]


def content(w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Gradients + blocky shapes + noise, including saturated 0/255 areas to exercise clipping."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([
        255 * xx / max(w - 1, 1),
        255 * yy / max(h - 1, 1),
        127.5 + 127.5 * np.sin((xx + 2 * yy) / 7.0),
    ], axis=-1)
    base[(xx // 13 + yy // 11) % 5 == 0] = 255
    base[(xx // 17 + yy // 7) % 7 == 0] = 0
    base += rng.normal(0, 40, size=base.shape)
    return np.clip(np.rint(base), 0, 255).astype(np.uint8)


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1234)
    listing = []
    for (w, h), (ow, oh) in CASES:
        name = f"{w}x{h}_to_{ow}x{oh}"
        arr = content(w, h, rng)
        resized = Image.fromarray(arr, "RGB").resize((ow, oh), Image.BILINEAR)
        (out / f"{name}.in").write_bytes(arr.tobytes())
        (out / f"{name}.out").write_bytes(np.asarray(resized, dtype=np.uint8).tobytes())
        listing.append({"name": name, "width": w, "height": h, "outWidth": ow, "outHeight": oh})
    (out / "cases.json").write_text(json.dumps({"pillow": PIL.__version__, "cases": listing}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
