"""Classical spinal cord segmentation on T2-weighted images (cord dark, CSF bright).

The method follows the idea of Spinal Cord Toolbox's PropSeg (De Leener et al., NeuroImage 2014) in a
simpler, fully deterministic form:

1. **Centre line.** In every axial slice a "dark core inside a bright ring" score (ring mean minus core
   mean, by FFT correlation) gives candidate centres; dynamic programming across slices picks the most
   continuous path, which is then smoothed.
2. **Boundary.** From the centre, rays every 360/N degrees sample the image; the boundary on each ray is the
   half-way crossing between the cord core and the CSF peak met on that ray (subvoxel, by interpolation).
3. **Tube regularisation.** Radii are median-filtered across angles and slices; rays without CSF (cord
   touching the canal wall) take the value of their neighbours. The centre is re-estimated from the
   contour and the boundary search repeated once.

Output is a contour per slice (radius per angle), a binary mask on the view grid and the centre line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workers.analysis.cord.axial_view import AxialView

N_ANGLES = 72
R_MAX_MM = 12.0
R_STEP_MM = 0.1
BOUNDARY_LEVEL = 0.4


@dataclass(frozen=True)
class CordSegmentation:
    """Cord contours on an :class:`AxialView`: per slice a centre (pixel y, x) and radii (mm) per angle."""

    view: AxialView
    centres: np.ndarray  # (nz, 2) pixel coordinates (y, x); NaN where the cord was not found
    radii: np.ndarray  # (nz, N_ANGLES) mm
    found: np.ndarray  # (nz,) bool
    mask: np.ndarray  # (nz, ny, nx) bool, on the view grid

    @property
    def angles(self) -> np.ndarray:
        return np.asarray(np.arange(self.radii.shape[1]) * 2 * np.pi / self.radii.shape[1])


def _direction_footprints(spacing_yx: tuple[float, float], n_dir: int = 8) -> list[np.ndarray]:
    """Line segments from 2 to 10 mm away from the centre, one per direction, as dilation footprints."""
    sy, sx = spacing_yx
    half_y, half_x = int(np.ceil(10.0 / sy)), int(np.ceil(10.0 / sx))
    footprints = []
    for d in range(n_dir):
        theta = 2 * np.pi * d / n_dir
        fp = np.zeros((2 * half_y + 1, 2 * half_x + 1), dtype=bool)
        for r in np.arange(2.0, 10.0 + 1e-9, 0.25):
            fp[half_y + int(round(r * np.sin(theta) / sy)), half_x + int(round(r * np.cos(theta) / sx))] = True
        footprints.append(fp[::-1, ::-1])  # dilation reflects the footprint
    return footprints


def _centre_scores(view: AxialView) -> np.ndarray:
    """Per pixel: the dimmest of the brightest values met within 2-10 mm in 8 directions, minus the
    mean of the 1.5 mm core, in units of the image's 99.5th percentile. High inside a dark structure
    wholly surrounded by bright CSF."""
    _, sy, sx = view.spacing
    footprints = _direction_footprints((sy, sx))
    yy, xx = np.mgrid[-3:4, -3:4]
    core = (np.hypot(yy * sy, xx * sx) <= 1.5).astype(float)
    core /= core.sum()
    scale = float(np.percentile(view.array, 99.5)) or 1.0
    scores = np.empty(view.array.shape, dtype=np.float32)
    for k, image in enumerate(view.array):
        img = ndimage.gaussian_filter(image.astype(float) / scale, 0.5)
        ring = np.min([ndimage.grey_dilation(img, footprint=fp) for fp in footprints], axis=0)
        scores[k] = ring - ndimage.correlate(img, core, mode="nearest")
    border_y, border_x = int(np.ceil(9.0 / sy)), int(np.ceil(9.0 / sx))
    scores[:, :border_y] = scores[:, -border_y:] = -np.inf
    scores[:, :, :border_x] = scores[:, :, -border_x:] = -np.inf
    return scores


def _dp_path(scores: np.ndarray, spacing: tuple[float, float, float], n_candidates: int = 6) -> np.ndarray:
    """Most continuous chain of per-slice candidate maxima (Viterbi); returns (nz, 2) pixel centres."""
    sz, sy, sx = spacing
    cands, vals = [], []
    for s in scores:
        peaks = (s == ndimage.maximum_filter(s, size=5)) & np.isfinite(s)
        idx = np.argwhere(peaks)
        order = np.argsort(-s[peaks])[:n_candidates]
        cands.append(idx[order].astype(float))
        vals.append(s[peaks][order])
    weight = 0.05 * sz * sz
    total = vals[0].copy()
    back: list[np.ndarray] = []
    for k in range(1, len(cands)):
        d2 = (((cands[k][:, None, :] - cands[k - 1][None, :, :]) * [sy, sx]) ** 2).sum(-1) / (sz * sz)
        trans = total[None, :] - weight * d2 / (sz * sz)
        best = np.argmax(trans, axis=1)
        back.append(best)
        total = vals[k] + trans[np.arange(len(best)), best]
    path = [int(np.argmax(total))]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    path.reverse()
    return np.array([cands[k][i] for k, i in enumerate(path)])


def _smooth_line(centres: np.ndarray, sigma_mm: float, sz: float) -> np.ndarray:
    sigma = max(sigma_mm / sz, 0.5)
    return np.stack([ndimage.gaussian_filter1d(centres[:, i], sigma, mode="nearest") for i in (0, 1)], 1)


def _profiles(view: AxialView, centres: np.ndarray, angles: np.ndarray, radii: np.ndarray) -> np.ndarray:
    _, sy, sx = view.spacing
    nz = len(centres)
    z = np.broadcast_to(np.arange(nz)[:, None, None], (nz, len(angles), len(radii)))
    y = centres[:, 0, None, None] + np.sin(angles)[None, :, None] * radii[None, None, :] / sy
    x = centres[:, 1, None, None] + np.cos(angles)[None, :, None] * radii[None, None, :] / sx
    coords = np.stack([z, y, x]).reshape(3, -1)
    values = ndimage.map_coordinates(view.array.astype(np.float32), coords, order=1, mode="nearest")
    return np.asarray(values.reshape(nz, len(angles), len(radii)))


def _boundaries(profiles: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Half-way crossing between the cord core and the CSF peak on each ray; NaN where none is found."""
    core = np.median(profiles[:, :, r <= 1.0].mean(axis=2), axis=1)  # (nz,)
    annulus = profiles[:, :, (r >= 2.0) & (r <= 10.0)]
    csf = np.percentile(annulus.reshape(len(core), -1), 90, axis=1)
    out = np.full(profiles.shape[:2], np.nan)
    for k in range(profiles.shape[0]):
        contrast = csf[k] - core[k]
        if contrast <= 0:
            continue
        coarse = core[k] + 0.5 * contrast
        for a in range(profiles.shape[1]):
            p = profiles[k, a]
            above = np.nonzero((p > coarse) & (r >= 1.0))[0]
            if above.size == 0:
                continue
            i0 = int(above[0])
            # Local CSF peak on this ray, within 3 mm beyond the coarse crossing.
            stop = min(len(p), i0 + int(3.0 / R_STEP_MM))
            peak = float(p[i0:stop].max())
            if peak - core[k] < 0.35 * contrast:
                continue
            level = core[k] + BOUNDARY_LEVEL * (peak - core[k])
            j = i0
            while j > 0 and p[j - 1] > level:
                j -= 1
            if j == 0:
                continue
            p0, p1 = p[j - 1], p[j]
            frac = (level - p0) / (p1 - p0) if p1 != p0 else 0.5
            out[k, a] = r[j - 1] + frac * (r[j] - r[j - 1])
    return out


def _regularise(radii: np.ndarray) -> np.ndarray:
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


def _rasterise(view: AxialView, centres: np.ndarray, radii: np.ndarray, found: np.ndarray) -> np.ndarray:
    nz, ny, nx = view.array.shape
    _, sy, sx = view.spacing
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


def segment_cord(view: AxialView, *, n_angles: int = N_ANGLES, min_contrast: float = 0.08) -> CordSegmentation:
    """Segment the cord in every slice of ``view`` (a T2-weighted image: CSF brighter than cord).

    Slices where the dark-core-in-bright-ring score is below ``min_contrast`` (fraction of the image's
    99.5th percentile) are marked not found.
    """
    if view.array.ndim != 3 or min(view.array.shape) < 1:
        raise ValueError(f"view.array must be a non-empty 3-D array, got shape {view.array.shape}")
    if n_angles < 16:
        raise ValueError(f"n_angles must be >= 16, got {n_angles}")
    sz, sy, sx = view.spacing
    scores = _centre_scores(view)
    path = _dp_path(scores, (sz, sy, sx))
    path_scores = np.array([scores[k, int(p[0]), int(p[1])] for k, p in enumerate(path)])
    found = path_scores >= min_contrast
    centres = _smooth_line(path, sigma_mm=4.0, sz=sz)
    angles = np.arange(n_angles) * 2 * np.pi / n_angles
    r = np.arange(0.0, R_MAX_MM + 1e-9, R_STEP_MM)
    radii = np.full((len(path), n_angles), np.nan)
    for iteration in range(3):
        radii = _regularise(_boundaries(_profiles(view, centres, angles, r), r))
        if iteration == 2:
            break
        ok = np.isfinite(radii).all(axis=1)
        # Re-centre on the contour's centroid (in pixel units), then smooth the centre line again.
        dy = (radii * np.sin(angles)).mean(axis=1) / sy
        dx = (radii * np.cos(angles)).mean(axis=1) / sx
        shift = np.stack([np.where(ok, dy, 0.0), np.where(ok, dx, 0.0)], 1)
        centres = _smooth_line(centres + shift, sigma_mm=2.0, sz=sz)
    found &= np.isfinite(radii).all(axis=1)
    mask = _rasterise(view, centres, radii, found)
    centres = np.where(found[:, None], centres, np.nan)
    return CordSegmentation(view=view, centres=centres, radii=radii, found=found, mask=mask)
