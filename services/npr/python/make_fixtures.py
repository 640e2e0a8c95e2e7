"""Write synthetic test images (gradients, shapes, noise) for the NPR parity test.

  make_fixtures.py OUT_DIR      -> images in OUT_DIR and OUT_DIR/fixtures.json (file list)

Deterministic; covers JPEG (4:2:0 and 4:4:4, progressive, grayscale), RGB/grayscale/RGBA/palette PNG, odd
sizes, upscaling from a tiny image, downscaling from a large one, an exact 256x256 input and an
extreme aspect ratio.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def scene(w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    a = rng.uniform(0, 2 * np.pi)
    sky = np.stack([
        90 + 120 * (yy / h),
        140 + 60 * np.cos(a + xx / max(w, 1) * 3),
        200 - 80 * (yy / h),
    ], axis=-1)
    img = Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * (w, h)
        x1, y1 = x0 + rng.uniform(0.05, 0.5) * w, y0 + rng.uniform(0.05, 0.5) * h
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour, outline=(0, 0, 0))
    for _ in range(6):
        pts = [tuple(rng.uniform(0, 1, 2) * (w, h)) for _ in range(2)]
        draw.line(pts, fill=tuple(int(c) for c in rng.integers(0, 256, 3)), width=int(rng.integers(1, 4)))
    img = img.filter(ImageFilter.GaussianBlur(radius=0.8))
    arr = np.asarray(img, dtype=np.float64) + rng.normal(0, 6, size=(h, w, 3))
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "RGB")


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    files = []

    def save(name: str, img: Image.Image, **kw) -> None:
        img.save(out / name, **kw)
        files.append(name)

    save("photo_640x480_q90.jpg", scene(640, 480, 1), quality=90)
    save("odd_333x517_444.jpg", scene(333, 517, 2), quality=80, subsampling=0)
    save("large_1999x1201_q85.jpg", scene(1999, 1201, 3), quality=85)
    save("small_57x43.jpg", scene(57, 43, 4), quality=95)
    save("progressive_480x321.jpg", scene(480, 321, 13), quality=85, progressive=True)
    save("gray_300x211.jpg", scene(300, 211, 5).convert("L"), quality=88)
    save("odd_333x517.png", scene(333, 517, 6))
    save("small_31x29.png", scene(31, 29, 7))
    save("exact_256x256.png", scene(256, 256, 8))
    save("wide_1000x37.png", scene(1000, 37, 9))
    save("gray_301x199.png", scene(301, 199, 10).convert("L"))
    rgba = scene(401, 257, 11).convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, 401, dtype=np.float64), (257, 1))
    rgba.putalpha(Image.fromarray(alpha.astype(np.uint8), "L"))
    save("rgba_401x257.png", rgba)
    save("palette_250x180.png", scene(250, 180, 12).convert("P", palette=Image.ADAPTIVE, colors=64))

    (out / "fixtures.json").write_text(json.dumps({"files": files}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
