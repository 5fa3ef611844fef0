"""In-plane rigid registration of one series onto another on the same grid (MT-on onto MT-off).

Per slice: a small set of rotations about the slice centre, each followed by phase correlation for the
translation (sub-pixel by a parabola through the peak); the rotation with the sharpest correlation peak wins.
Motion between two series of one sitting is small, so rotations are searched within ``MAX_ROTATION_DEG``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MAX_ROTATION_DEG = 3.0
ROTATION_STEP_DEG = 1.5


@dataclass(frozen=True)
class SliceTransform:
    """Rotation (degrees, about the slice centre) then translation (pixels, rows and columns)."""

    rotation_deg: float
    shift_rows: float
    shift_cols: float


def _subpixel(corr: np.ndarray, peak: tuple[int, int]) -> tuple[float, float]:
    out = []
    for axis, p in enumerate(peak):
        n = corr.shape[axis]
        idx = [peak[0], peak[1]]
        values = []
        for d in (-1, 0, 1):
            idx[axis] = (p + d) % n
            values.append(float(corr[idx[0], idx[1]]))
        denom = values[0] - 2 * values[1] + values[2]
        frac = 0.5 * (values[0] - values[2]) / denom if denom < 0 else 0.0
        shift = p + float(np.clip(frac, -0.5, 0.5))
        out.append(shift - n if shift > n / 2 else shift)
    return out[0], out[1]


def _phase_correlation(fixed: np.ndarray, moving: np.ndarray) -> tuple[float, float, float]:
    """(peak height, row shift, column shift) that moves ``moving`` onto ``fixed``."""
    window = np.outer(np.hanning(fixed.shape[0]), np.hanning(fixed.shape[1]))
    f = np.fft.fft2((fixed - fixed.mean()) * window)
    m = np.fft.fft2((moving - moving.mean()) * window)
    cross = f * np.conj(m)
    cross /= np.maximum(np.abs(cross), 1e-12)
    corr = np.real(np.fft.ifft2(cross))
    peak = np.unravel_index(int(np.argmax(corr)), corr.shape)
    rows, cols = _subpixel(corr, (int(peak[0]), int(peak[1])))
    return float(corr[peak]), rows, cols


def register_in_plane(fixed: np.ndarray, moving: np.ndarray) -> list[SliceTransform]:
    """The rigid in-plane transform of every slice of ``moving`` (z, y, x) onto ``fixed`` (same shape)."""
    if fixed.shape != moving.shape or fixed.ndim != 3:
        raise ValueError(f"fixed and moving must be 3-D arrays of one shape, got {fixed.shape} and {moving.shape}")
    angles = np.arange(-MAX_ROTATION_DEG, MAX_ROTATION_DEG + 1e-9, ROTATION_STEP_DEG)
    out = []
    for f, m in zip(fixed.astype(np.float64), moving.astype(np.float64), strict=True):
        best = (-np.inf, 0.0, 0.0, 0.0)
        for angle in angles:
            rotated = ndimage.rotate(m, angle, reshape=False, order=1, mode="nearest") if angle else m
            height, rows, cols = _phase_correlation(f, rotated)
            if height > best[0]:
                best = (height, float(angle), rows, cols)
        out.append(SliceTransform(best[1], best[2], best[3]))
    return out


def apply(moving: np.ndarray, transforms: list[SliceTransform]) -> np.ndarray:
    """``moving`` resampled (linear) with one :class:`SliceTransform` per slice."""
    if len(transforms) != moving.shape[0]:
        raise ValueError(f"need one transform per slice ({moving.shape[0]}), got {len(transforms)}")
    out = np.empty(moving.shape, dtype=np.float64)
    for k, (m, t) in enumerate(zip(moving.astype(np.float64), transforms, strict=True)):
        rotated = ndimage.rotate(m, t.rotation_deg, reshape=False, order=1, mode="nearest") if t.rotation_deg else m
        out[k] = ndimage.shift(rotated, (t.shift_rows, t.shift_cols), order=1, mode="nearest")
    return out
