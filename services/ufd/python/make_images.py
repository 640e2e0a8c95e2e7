"""Write deterministic synthetic test images with PIL for the UFD parity tests.

  make_images.py OUT_DIR   -> images in OUT_DIR, file list in OUT_DIR/pil-images.json

Sizes are chosen around the 224 centre crop: larger and smaller on both axes, one axis each way,
odd differences (where Python's round-half-to-even decides the crop offset), exactly 224, and
tiny. Formats: RGB / RGBA / grayscale / palette PNG, baseline 4:2:0 and 4:4:4, progressive and
grayscale JPEG.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def scene(w: int, h: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([
        127 + 120 * np.sin(x / (7 + seed) + y / 31),
        127 + 120 * np.cos(y / (5 + seed % 4) - x / 17),
        (x * 255 / max(w - 1, 1) + y * 97 / max(h - 1, 1)) % 256,
    ], axis=-1)
    base += rng.normal(0, 12, size=base.shape)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1, y1 = x0 + int(rng.integers(1, max(2, w // 2))), y0 + int(rng.integers(1, max(2, h // 2)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return img


def main(argv: list[str]) -> int:
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []

    def save(name: str, img: Image.Image, **kw) -> None:
        img.save(out / name, **kw)
        files.append(name)

    save("rgb_333x229.png", scene(333, 229, 1))                      # both larger, odd differences
    save("rgb_224x224.png", scene(224, 224, 2))                      # exact
    save("rgb_225x227.png", scene(225, 227, 3))                      # offsets round(0.5)=0, round(1.5)=2
    save("rgb_229x231.png", scene(229, 231, 4))                      # round(2.5)=2, round(3.5)=4
    save("rgb_223x97.png", scene(223, 97, 5))                        # both smaller, odd padding
    save("rgb_100x500.png", scene(100, 500, 6))                      # padded across, cropped down
    save("rgb_9x8.png", scene(9, 8, 7))                              # tiny (the SDK's minimum side is 8)
    rgba = scene(401, 257, 8).convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 401, dtype=np.uint8), (257, 1)), "L"))
    save("rgba_401x257.png", rgba)                                   # alpha dropped, not composited
    save("gray_300x200.png", scene(300, 200, 9).convert("L"))
    save("palette_250x180.png", scene(250, 180, 10).convert("P", palette=Image.ADAPTIVE, colors=64))
    save("photo_640x480_q90.jpg", scene(640, 480, 11), quality=90)
    save("photo_500x101_444.jpg", scene(500, 101, 12), quality=95, subsampling=0)
    save("photo_161x350_progressive.jpg", scene(161, 350, 13), quality=85, progressive=True)
    save("gray_230x150.jpg", scene(230, 150, 14).convert("L"), quality=90)

    (out / "pil-images.json").write_text(json.dumps({"files": files}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
