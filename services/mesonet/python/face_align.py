"""The MesoNet face crop, from five landmarks (eyes, nose tip, mouth corners: what YuNet gives), in numpy.
This is the reference the TypeScript crop (src/align.ts) is checked against: same formulas, same order of
float64 operations, so both give the same pixels.

Upstream (DariusAf/MesoNet pipeline.py, FaceFinder.find_coordinates / get_aligned_face) uses dlib's 68
landmarks: centre = the nose (mean of nose-tip and nose-bridge points), side = 1.3 * 2.2 * max(|eye1 - eye2|,
|mouth - eyes|) with eyes/mouth the centres of the eye and lip points, the face rotated upright by the angle of
the eyes->mouth line, a square of that side cut (reflect-padded outside the frame), then resized to 256x256.
Here: eye centres = the two eye landmarks, mouth centre = the midpoint of the mouth corners, centre = the nose
tip (dlib's nose centre sits slightly above it: ~3 % of the crop side), and the square is sampled directly in
the rotated frame: output pixel (u, v) centre -> a = (u + 0.5) * s - side/2 along the face's right axis,
b = (v + 0.5) * s - side/2 along its down axis (eyes -> mouth), s = side / 256; bilinear interpolation, pixel
centres at integer coordinates, indices outside the image reflected (numpy 'reflect', as upstream pads). When
shrinking (s > 1) each output pixel averages k x k bilinear samples on a regular sub-grid, k = ceil(s) (at most
MAX_SUPERSAMPLE), so large faces are not aliased; upstream's spline zoom does not prefilter. Values are rounded
half up to uint8, as upstream's uint8 rotate/zoom output is.
"""
from __future__ import annotations

import math

import numpy as np

SIZE = 256
K_DISTANCE = 2.2
L_FACTOR = 1.3
MAX_SUPERSAMPLE = 12


def geometry(landmarks, scale: float = 1.0):
    """landmarks: 5 (x, y) points: right eye, left eye, nose tip, right mouth corner, left mouth corner (either
    eye / corner order works); scale multiplies the side (1 = upstream). Returns (cx, cy, side, rx, ry, dx, dy)."""
    (e1x, e1y), (e2x, e2y), (nx, ny), (m1x, m1y), (m2x, m2y) = [(float(x), float(y)) for x, y in landmarks]
    ex = (e1x + e2x) / 2.0
    ey = (e1y + e2y) / 2.0
    bx = (m1x + m2x) / 2.0
    by = (m1y + m2y) / 2.0
    eye_dx = e1x - e2x
    eye_dy = e1y - e2y
    eye_dist = math.sqrt(eye_dx * eye_dx + eye_dy * eye_dy)
    vx = bx - ex
    vy = by - ey
    mouth_dist = math.sqrt(vx * vx + vy * vy)
    side = L_FACTOR * (K_DISTANCE * max(eye_dist, mouth_dist)) * scale
    if mouth_dist > 0.0:
        dx = vx / mouth_dist
        dy = vy / mouth_dist
    else:
        dx, dy = 0.0, 1.0
    # right axis: the down axis turned a quarter turn counter-clockwise on screen (upright face: (1, 0))
    return nx, ny, side, dy, -dx, dx, dy


def reflect_index(i: int, n: int) -> int:
    if n == 1:
        return 0
    period = 2 * (n - 1)
    i %= period
    return period - i if i >= n else i


def align_face(rgb: np.ndarray, landmarks, scale: float = 1.0) -> np.ndarray:
    """HWC uint8 RGB image + 5 landmarks -> 256x256x3 uint8 face crop (scale multiplies the crop side)."""
    h, w, _ = rgb.shape
    cx, cy, side, rx, ry, dx, dy = geometry(landmarks, scale)
    if not (side > 0.0) or not math.isfinite(side):
        raise ValueError("degenerate landmarks")
    s = side / SIZE
    half = side / 2.0
    k = min(MAX_SUPERSAMPLE, max(1, math.ceil(s)))
    img = rgb.astype(np.float64)
    # sample offsets: (u + (i + 0.5) / k) * s - half, written as u * s + (offset_i)
    offsets = np.array([((i + 0.5) / k) * s for i in range(k)], dtype=np.float64)
    base = np.arange(SIZE, dtype=np.float64) * s
    # a[u, i], b[v, j]
    a = (base[:, None] + offsets[None, :]) - half
    b = (base[:, None] + offsets[None, :]) - half
    acc = np.zeros((SIZE, SIZE, 3), dtype=np.float64)

    def refl(idx: np.ndarray, n: int) -> np.ndarray:
        if n == 1:
            return np.zeros_like(idx)
        period = 2 * (n - 1)
        i = np.mod(idx, period)
        return np.where(i >= n, period - i, i)

    for j in range(k):
        bb = b[:, j][:, None]          # rows v
        for i in range(k):
            aa = a[:, i][None, :]      # columns u
            # same order as the TypeScript: x = cx + a*rx + b*dx ; y = cy + a*ry + b*dy
            x = (cx + aa * rx) + bb * dx
            y = (cy + aa * ry) + bb * dy
            x0 = np.floor(x)
            y0 = np.floor(y)
            fx = x - x0
            fy = y - y0
            x0i = x0.astype(np.int64)
            y0i = y0.astype(np.int64)
            xa = refl(x0i, w)
            xb = refl(x0i + 1, w)
            ya = refl(y0i, h)
            yb = refl(y0i + 1, h)
            p00 = img[ya, xa]
            p10 = img[ya, xb]
            p01 = img[yb, xa]
            p11 = img[yb, xb]
            fx3 = fx[..., None]
            fy3 = fy[..., None]
            top = p00 + (p10 - p00) * fx3
            bottom = p01 + (p11 - p01) * fx3
            acc += top + (bottom - top) * fy3
    out = np.floor(acc / (k * k) + 0.5)
    return np.clip(out, 0, 255).astype(np.uint8)

