"""The cord's contour in each slice: a star-shaped tube of radii per angle around the centre line.

On each ray from the centre the boundary is the steepest rise of intensity between the cord and the first
fluid peak met on that ray (the edge of a blurred step, whatever the two plateau levels are), refined to a
sub-sample position. Rays that meet no fluid (cord against the canal wall) take their neighbours' radii;
radii are then median-regularised across angles and slices (a deformable tube in spirit, PropSeg-like).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

R_MAX_MM = 12.0
R_STEP_MM = 0.1
INNER_MM = 1.0  # the boundary is never closer to the centre than this


def profiles(
    image: np.ndarray, spacing: tuple[float, float, float], centres: np.ndarray, angles: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    """Intensities (nz, n_angles, n_radii) along rays from ``centres`` (pixel y, x) of a CSF-bright image."""
    _, sy, sx = spacing
    nz = len(centres)
    z = np.broadcast_to(np.arange(nz)[:, None, None], (nz, len(angles), len(radii)))
    y = centres[:, 0, None, None] + np.sin(angles)[None, :, None] * radii[None, None, :] / sy
    x = centres[:, 1, None, None] + np.cos(angles)[None, :, None] * radii[None, None, :] / sx
    coords = np.stack([z, y, x]).reshape(3, -1)
    values = ndimage.map_coordinates(image.astype(np.float32), coords, order=1, mode="nearest")
    return np.asarray(values.reshape(nz, len(angles), len(radii)))


def boundaries(prof: np.ndarray, r: np.ndarray, pixel_mm: float) -> np.ndarray:
    """Steepest-rise boundary radius (mm) on each ray; NaN where the ray meets no fluid brighter than cord."""
    step = float(r[1] - r[0])
    # Differentiate at the scale of one pixel: finer detail in a linearly interpolated profile is not data.
    sigma = max(0.5 * pixel_mm / step, 1.0)
    smooth = ndimage.gaussian_filter1d(prof, sigma, axis=2)
    slope = np.gradient(smooth, step, axis=2)
    core = np.median(smooth[:, :, r <= INNER_MM].mean(axis=2), axis=1)  # (nz,)
    annulus = smooth[:, :, (r >= 3.0) & (r <= 10.0)]
    fluid = np.percentile(annulus.reshape(len(core), -1), 90, axis=1)
    inner = int(np.searchsorted(r, INNER_MM))
    n = len(r)
    index = np.arange(n)
    contrast = (fluid - core)[:, None, None]
    # The fluid peak: the first local maximum after the ray has crossed half the contrast.
    above = (smooth > core[:, None, None] + 0.5 * contrast) & (index >= inner)
    crosses = above.any(axis=2)
    first = np.argmax(above, axis=2)
    falling = np.zeros_like(above)
    falling[:, :, :-1] = smooth[:, :, 1:] < smooth[:, :, :-1]
    falling[:, :, -1] = True
    peak = np.argmax(falling & (index >= first[..., None]), axis=2)
    valid = crosses & (peak > inner + 1) & (contrast[:, :, 0] > 0)
    # The steepest rise between the cord and that peak, refined by a parabola through the slope maximum.
    window = (index >= inner) & (index < peak[..., None])
    j = np.argmax(np.where(window, slope, -np.inf), axis=2)
    jm, jp = np.clip(j - 1, 0, n - 1), np.clip(j + 1, 0, n - 1)
    s0, s1, s2 = (np.take_along_axis(slope, q[..., None], axis=2)[..., 0] for q in (jm, j, jp))
    denom = s0 - 2 * s1 + s2
    inside = (j > 0) & (j < n - 1) & (denom < 0)
    shift = np.where(inside, 0.5 * (s0 - s2) / np.where(denom < 0, denom, -1.0), 0.0)
    radius = r[j] + np.clip(shift, -0.5, 0.5) * step
    return np.asarray(np.where(valid, radius, np.nan))


def regularise(radii: np.ndarray) -> np.ndarray:
    """Fill rays without a boundary from their neighbours, then median-filter across angles and slices."""
    filled = radii.copy()
    n_angles = radii.shape[1]
    for k in range(len(filled)):
        row = filled[k]
        ok = np.isfinite(row)
        if ok.sum() < n_angles // 3:
            filled[k] = np.nan
            continue
        angle_index = np.arange(n_angles)
        filled[k] = np.interp(angle_index, angle_index[ok], row[ok], period=n_angles)
    rows_ok = np.isfinite(filled).all(axis=1)
    if not rows_ok.any():
        return filled
    ks = np.arange(len(filled))
    for j in range(n_angles):
        filled[:, j] = np.interp(ks, ks[rows_ok], filled[rows_ok, j])
    padded = np.concatenate([filled[:, -2:], filled, filled[:, :2]], axis=1)
    smooth = ndimage.median_filter(padded, size=(3, 5), mode="nearest")[:, 2:-2]
    outliers = np.abs(filled - smooth) > 0.25 * smooth
    filled[outliers] = smooth[outliers]
    filled = ndimage.uniform_filter1d(filled, size=3, axis=1, mode="wrap")
    filled[~rows_ok] = np.nan
    return filled


def rasterise(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    centres: np.ndarray,
    radii: np.ndarray,
    found: np.ndarray,
) -> np.ndarray:
    """Binary mask (nz, ny, nx) of the star-shaped contours of the found slices."""
    nz, ny, nx = shape
    _, sy, sx = spacing
    n_angles = radii.shape[1]
    mask = np.zeros((nz, ny, nx), dtype=bool)
    yy, xx = np.mgrid[0:ny, 0:nx]
    for k in np.nonzero(found)[0]:
        dy = (yy - centres[k, 0]) * sy
        dx = (xx - centres[k, 1]) * sx
        rr = np.hypot(dy, dx)
        theta = np.mod(np.arctan2(dy, dx), 2 * np.pi) * n_angles / (2 * np.pi)
        a = np.arange(n_angles + 1)
        limit = np.interp(theta, a, np.append(radii[k], radii[k, 0]))
        mask[k] = rr <= limit
    return mask
