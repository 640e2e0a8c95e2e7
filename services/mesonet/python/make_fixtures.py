"""Synthetic test images for the MesoNet tests (deterministic; no downloaded data).

  make_fixtures.py OUT_DIR [--video]   -> OUT_DIR/fixtures.json listing:
     crops:  256x256 face crops (PNG and JPEG, different faces and noise)
     scenes: larger images, each with the exact landmarks of its drawn face(s) ("faces": [[[x, y] x 5], ...]),
             for the alignment tests: upright, tilted, past the border (reflection), large (supersampled), tiny
             (upscaled), upside down
     service: images for the served model: one face, two faces, no face
     video:  (--video) frames for a short clip with one face drifting across the frame (frames/%03d.png)

The faces are drawn (skin with shading, hair, brows, eyes, nose, lips, neck) so that the YuNet face detector
finds them (scores about 0.7-0.85 at its default 0.6 threshold); they are not photographs and MesoNet's scores
on them mean nothing about forgery.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

# Where the landmarks of a drawn face are, in units of its radius r, before rotation (x right, y down):
# eye, eye, nose tip, mouth corner, mouth corner.
LANDMARKS = [(0.35, -0.2), (-0.35, -0.2), (0.0, 0.15), (0.25, 0.43), (-0.25, 0.43)]


def background(w: int, h: int) -> Image.Image:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    bg = np.stack([60 + 100 * xx / w, 90 + 80 * yy / h, 140 + 40 * np.sin(xx / 17.0 + yy / 23.0)], axis=-1)
    return Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8), "RGB")


def draw_face(img: Image.Image, cx: float, cy: float, r: float, angle: float, skin=(214, 160, 128)) -> None:
    """Paste a face of radius r centred at (cx, cy), turned by `angle` degrees (counter-clockwise on screen)."""
    size = int(4 * r)
    c = 2 * r
    fy, fx = np.mgrid[0:size, 0:size].astype(np.float64)
    dist = np.sqrt(((fx - c) / (0.8 * r)) ** 2 + ((fy - c) / r) ** 2)
    tone = np.array(skin, dtype=np.float64)
    layer = np.zeros((size, size, 4))
    layer[..., :3] = tone * (1.0 - 0.35 * np.clip(dist, 0, 1) ** 2)[..., None]
    layer[..., 3] = (dist <= 1) * 255
    neck = (np.abs(fx - c) < 0.35 * r) & (fy > c + 0.7 * r) & (fy < c + 1.6 * r)
    layer[neck, :3] = tone * 0.8
    layer[neck, 3] = 255
    face = Image.fromarray(layer.astype(np.uint8), "RGBA")
    d = ImageDraw.Draw(face)
    d.chord([c - 0.85 * r, c - 1.1 * r, c + 0.85 * r, c + 0.2 * r], 180, 360, fill=(50, 35, 25, 255))
    for sx in (-1, 1):
        ex, ey = c + sx * 0.35 * r, c - 0.2 * r
        d.ellipse([ex - 0.15 * r, ey - 0.07 * r, ex + 0.15 * r, ey + 0.07 * r], fill=(245, 245, 240, 255))
        d.ellipse([ex - 0.06 * r, ey - 0.06 * r, ex + 0.06 * r, ey + 0.06 * r], fill=(70, 45, 30, 255))
        d.ellipse([ex - 0.025 * r, ey - 0.025 * r, ex + 0.025 * r, ey + 0.025 * r], fill=(10, 10, 10, 255))
        d.line([(ex - 0.18 * r, ey - 0.17 * r), (ex + 0.18 * r, ey - 0.2 * r)], fill=(60, 40, 30, 255),
               width=max(2, int(0.05 * r)))
    d.line([(c, c - 0.15 * r), (c - 0.06 * r, c + 0.15 * r), (c + 0.04 * r, c + 0.17 * r)], fill=(170, 115, 95, 255),
           width=max(1, int(0.03 * r)))
    d.ellipse([c - 0.1 * r, c + 0.14 * r, c - 0.04 * r, c + 0.19 * r], fill=(120, 70, 60, 255))
    d.ellipse([c + 0.04 * r, c + 0.14 * r, c + 0.1 * r, c + 0.19 * r], fill=(120, 70, 60, 255))
    d.ellipse([c - 0.25 * r, c + 0.36 * r, c + 0.25 * r, c + 0.5 * r], fill=(170, 80, 80, 255))
    d.line([(c - 0.25 * r, c + 0.43 * r), (c + 0.25 * r, c + 0.43 * r)], fill=(110, 40, 45, 255),
           width=max(1, int(0.02 * r)))
    face = face.rotate(angle, resample=Image.BICUBIC)
    img.paste(face, (int(round(cx - c)), int(round(cy - c))), face)


def finish(img: Image.Image, seed: int) -> Image.Image:
    """Blur a little and add sensor-like noise."""
    rng = np.random.default_rng(seed)
    img = img.filter(ImageFilter.GaussianBlur(1.0))
    arr = np.asarray(img, dtype=np.float64) + rng.normal(0, 4, size=(img.height, img.width, 3))
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "RGB")


def landmarks(cx: float, cy: float, r: float, angle: float):
    """The drawn face's landmarks (paste rounds the position to whole pixels, as draw_face does)."""
    c = 2 * r
    ox, oy = int(round(cx - c)) + c, int(round(cy - c)) + c
    a = math.radians(angle)
    out = []
    for x, y in LANDMARKS:
        x, y = x * r, y * r
        out.append([ox + x * math.cos(a) + y * math.sin(a), oy - x * math.sin(a) + y * math.cos(a)])
    return out


def scene(w, h, faces, seed):
    img = background(w, h)
    for cx, cy, r, angle in faces:
        draw_face(img, cx, cy, r, angle)
    return finish(img, seed), [landmarks(*f) for f in faces]


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    listing = {"crops": [], "scenes": [], "service": {}}

    for i, (fmt, q, skin) in enumerate([("png", None, (214, 160, 128)), ("jpg", 90, (180, 130, 100)),
                                         ("jpg", 60, (230, 190, 160)), ("png", None, (150, 100, 75))]):
        img = background(256, 256)
        draw_face(img, 128, 128, 80 + 5 * i, 3.0 * i - 4.0, skin)
        img = finish(img, 10 + i)
        name = f"crop{i}.{fmt}"
        img.save(out / name, **({"quality": q} if q else {}))
        listing["crops"].append(name)

    specs = [
        ("upright", 640, 480, [(320, 230, 100, 0.0), (530, 390, 30, -5.0)]),
        ("tilted", 640, 480, [(300, 250, 120, 25.0)]),
        ("border", 400, 300, [(40, 60, 100, -10.0)]),       # the crop reaches past the left/top edges
        ("large", 1200, 900, [(600, 450, 420, 8.0)]),       # crop side ~ 600 px: supersampled
        ("tiny", 320, 240, [(150, 120, 25, 0.0)]),          # crop side ~ 30 px: upscaled
        ("upside-down", 480, 480, [(240, 240, 100, 180.0)]),
    ]
    for j, (name, w, h, faces) in enumerate(specs):
        img, lms = scene(w, h, faces, 100 + j)
        file = f"scene-{name}.png"
        img.save(out / file)
        listing["scenes"].append({"file": file, "width": w, "height": h, "faces": lms})

    for j, (name, w, h, faces) in enumerate([
        ("one-face.jpg", 640, 480, [(320, 240, 90, 0.0)]),
        ("two-faces.png", 800, 480, [(220, 240, 90, 0.0), (590, 250, 80, 10.0)]),
        ("no-face.png", 480, 360, []),
    ]):
        img, _ = scene(w, h, faces, 200 + j)
        img.save(out / name, **({"quality": 92} if name.endswith(".jpg") else {}))
        listing["service"][name.split(".")[0]] = name

    if "--video" in sys.argv[2:]:
        frames = out / "frames"
        frames.mkdir(exist_ok=True)
        for k in range(24):
            img, _ = scene(480, 360, [(200 + 3 * k, 180 + math.sin(k / 4) * 6, 70, 2 * math.sin(k / 5))], 300 + k)
            img.save(frames / f"{k:03d}.png")
        listing["video"] = {"frames": "frames/%03d.png", "count": 24, "fps": 12}

    (out / "fixtures.json").write_text(json.dumps(listing, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
