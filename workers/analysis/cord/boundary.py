"""The cord's contour in each slice: a star-shaped tube of radii per angle around the centre line.

The contour is one closed, smooth path r(theta) through the polar image (angle x radius) around the centre,
not a set of independent rays. It maximises the sum, over the rays, of the outward intensity rise (cord to
fluid, in units of the height of the rise it lies on, between a quarter and all of the slice's cord/fluid
contrast: :func:`_local_rise`) at the path, minus a cost for every mm of fluid-bright
samples it would enclose and, where CSF is bright, for every mm of cord-level samples it would leave outside
between itself and the fluid (beyond the edge's own ramp, :data:`EDGE_MM`), with the radius changing by at
most :data:`MAX_STEP_MM` between neighbouring rays and a quadratic cost on every change (dynamic programming
over the angles, run round the circle one and a half times so that the path closes on itself). Where no fluid
separates the cord from the canal wall a ray has no strong edge of its own, and the path there follows its
neighbours instead of running on to the next edge outside the cord; and an edge inside the cord (grey matter
brighter than white matter on T2*, MT and GRE images, steeper than a cord-to-fluid rise blurred by thick
slices) does not stop it while cord still lies between it and the fluid. Radii are then median-regularised
across angles and slices (a deformable tube in spirit, PropSeg-like).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from workers.analysis.cord.window import around

R_MAX_MM = 12.0
R_STEP_MM = 0.1
INNER_MM = 1.0  # the boundary is never closer to the centre than this
MAX_STEP_MM = 0.5  # largest radius change between neighbouring rays (5 degrees apart on 72 rays)
STEP_COST = 1.0  # penalty per mm^2 of radius change between neighbouring rays, in units of a full-contrast edge/mm
FLUID_COST = 1.0  # per mm of fluid-bright samples inside the contour on one ray
CORD_COST = 1.0  # per mm of cord-level samples left outside the contour, between it and the fluid, on one ray
EDGE_MM = 2.0  # the widest cord-to-fluid ramp measured (T1, 2 mm): cord-level samples this near the fluid are its own
RISE_FLOOR = 0.25  # a local rise below this share of the slice's cord-to-fluid contrast is weighed as this share
MIN_FLUID_RAYS = 1.0 / 3.0  # a slice whose rays meet fluid less often than this has no contour


def profiles(
    image: np.ndarray, spacing: tuple[float, float, float], centres: np.ndarray, angles: np.ndarray, radii: np.ndarray
) -> np.ndarray:
    """Intensities (nz, n_angles, n_radii) along rays from ``centres`` (pixel y, x) of a CSF-bright image."""
    _, sy, sx = spacing
    y = centres[:, 0, None, None] + np.sin(angles)[None, :, None] * radii[None, None, :] / sy
    x = centres[:, 1, None, None] + np.cos(angles)[None, :, None] * radii[None, None, :] / sx
    # Slice by slice (the rays lie in their slice): the values of one 3-D interpolation, to the bit, at half
    # the corners.
    planes = image.astype(np.float32, copy=False)
    values = [
        ndimage.map_coordinates(plane, [yk, xk], order=1, mode="nearest")
        for plane, yk, xk in zip(planes, y, x, strict=True)
    ]
    return np.asarray(np.stack(values)) if values else np.zeros((0, len(angles), len(radii)), np.float32)


def polar_contour(
    prof: np.ndarray, r: np.ndarray, pixel_mm: float, *, cord_left_out: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(radii (nz, n_angles) mm, fraction of rays meeting fluid (nz,)) for profiles (nz, n_angles, n_radii)
    of a CSF-bright image; rows of slices without enough fluid around the centre are NaN."""
    nz, n_angles, n = prof.shape
    step = float(r[1] - r[0])
    sigma = max(0.5 * pixel_mm / step, 1.0)
    smooth = ndimage.gaussian_filter1d(prof, sigma, axis=2)
    slope = np.gradient(smooth, step, axis=2)
    core = np.median(smooth[:, :, r <= INNER_MM].mean(axis=2), axis=1)
    annulus = smooth[:, :, (r >= 3.0) & (r <= 10.0)]
    fluid = np.percentile(annulus.reshape(nz, -1), 90, axis=1)
    contrast = np.maximum(fluid - core, 1e-6)
    index = np.arange(n)
    inner = int(np.searchsorted(r, INNER_MM))
    above = (smooth > (core + 0.5 * contrast)[:, None, None]) & (index >= inner)
    crosses = above.any(axis=2)
    gain = np.clip(slope / _local_rise(smooth, contrast, step), 0.0, None)
    # Every mm of fluid-bright samples the contour would enclose on a ray costs as much as a full edge.
    enclosed = np.cumsum(above, axis=2) * step
    if cord_left_out:
        gain = gain - CORD_COST * _cord_left_out(smooth, above, core, contrast, step)
    gain = np.where(index >= inner, gain - FLUID_COST * enclosed, -np.inf)
    radii = _closed_path(gain, r, step)
    fraction = crosses.mean(axis=1)
    radii[(fraction < MIN_FLUID_RAYS) | (fluid <= core)] = np.nan
    return radii, fraction


def _local_rise(smooth: np.ndarray, contrast: np.ndarray, step: float) -> np.ndarray:
    """Per sample, the height of the rise it lies on: the highest level within :data:`EDGE_MM` outside it less
    the lowest within :data:`EDGE_MM` inside it, between :data:`RISE_FLOOR` and 1 times the slice's contrast.

    The slope is read in units of this local rise, not of the slice's cord-to-fluid contrast: where the fluid
    beside the cord is a thin layer (the cord near the canal wall, the layer thinner than the in-plane blur) its
    peak is lower than the slice's fluid, and a rise onto it as steep, relative to its height, as a full one
    weighed only that fraction of an edge, so that the path's smoothness took it on past the rise (onto the
    layer itself) from its neighbours. The floor keeps a rise of the noise's size from counting as a full edge."""
    w = max(1, int(round(EDGE_MM / step)))
    behind = ndimage.minimum_filter1d(smooth, size=w + 1, axis=2, origin=w // 2, mode="nearest")
    ahead = ndimage.maximum_filter1d(smooth[..., ::-1], size=w + 1, axis=2, origin=w // 2, mode="nearest")[..., ::-1]
    full = contrast[:, None, None]
    return np.asarray(np.clip(ahead - behind, RISE_FLOOR * full, full))


def _cord_left_out(
    smooth: np.ndarray, above: np.ndarray, core: np.ndarray, contrast: np.ndarray, step: float
) -> np.ndarray:
    """Per sample, the mm of cord-level samples beyond it that run on, unbroken, into fluid, less the
    :data:`EDGE_MM` of the edge's own ramp: a contour there would leave outside it cord that the fluid still
    encloses (an outline stopped on an edge inside the cord, such as grey matter brighter than white matter
    on T2*, MT and GRE images). Cord level: below the half-way level to the fluid and not darker than the
    cord by as much."""
    n = smooth.shape[-1]
    cord = ~above & (smooth >= (core - 0.5 * contrast)[:, None, None])
    index = np.arange(n)
    # The first sample beyond each that is not cord level (n where none is), and whether it is fluid.
    stop = np.where(cord, n, index)
    beyond = np.minimum.accumulate(stop[..., ::-1], axis=-1)[..., ::-1]
    beyond = np.concatenate([beyond[..., 1:], np.full(beyond.shape[:-1] + (1,), n)], axis=-1)
    padded = np.concatenate([above, np.zeros(above.shape[:-1] + (1,), bool)], axis=-1)
    into_fluid = np.take_along_axis(padded, beyond, axis=-1)
    return np.where(into_fluid, np.maximum((beyond - index - 1) * step - EDGE_MM, 0.0), 0.0)


def _closed_path(gain: np.ndarray, r: np.ndarray, step: float) -> np.ndarray:
    """Per slice the path over angles (wrapped 1.5 times round) maximising gain minus the step penalty."""
    nz, n_angles, n = gain.shape
    reach = max(1, int(np.floor(MAX_STEP_MM / step + 1e-9)))
    shifts = np.arange(-reach, reach + 1)
    penalty = STEP_COST * (shifts * step) ** 2
    order = np.concatenate([np.arange(n_angles), np.arange(n_angles), np.arange(n_angles // 2)])
    # The previous ray's totals, -inf beyond both ends: arriving at radius index i by shift s reads index
    # i - s, column reach + i - s of a row of ``previous``. The best arrival is kept for every state; which
    # shift gave it is found again in the trace back, for the states on the path only.
    previous = np.full((len(order), nz, n + 2 * reach), -np.inf)
    total = gain[:, order[0]]
    for t in range(1, len(order)):
        padded = previous[t]
        padded[:, reach : reach + n] = total
        best = padded[:, reach - shifts[0] : reach - shifts[0] + n] - penalty[0]
        for s, cost in zip(shifts[1:], penalty[1:], strict=True):
            np.maximum(best, padded[:, reach - s : reach - s + n] - cost, out=best)
        total = best + gain[:, order[t]]
    # Trace back from the best end state; keep the middle turn (angles visited in the second pass). The
    # first shift reaching the best arrival (a later one only as good does not replace it); 0 where none
    # arrives at all.
    state = np.argmax(total, axis=1)
    path = np.zeros((len(order), nz), dtype=int)
    path[-1] = state
    rows = np.arange(nz)[:, None]
    for t in range(len(order) - 1, 0, -1):
        moved = previous[t][rows, reach - shifts[None, :] + state[:, None]] - penalty[None, :]
        state = state - np.where(moved.max(axis=1) == -np.inf, 0, shifts[moved.argmax(axis=1)])
        path[t - 1] = state
    middle = path[n_angles : 2 * n_angles].T  # (nz, n_angles), angle order 0..n_angles-1
    radii = r[np.clip(middle, 0, n - 1)].astype(float)
    dead = ~np.isfinite(total.max(axis=1))
    radii[dead] = np.nan
    return np.asarray(radii)


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
    """Binary mask (nz, ny, nx) of the star-shaped contours of the found slices.

    Only the pixels within the largest radius of a slice's contour (and two pixels more) are tested: a pixel
    farther out lies outside every radius, and each pixel inside is computed as on the whole grid."""
    nz, ny, nx = shape
    _, sy, sx = spacing
    n_angles = radii.shape[1]
    mask = np.zeros((nz, ny, nx), dtype=bool)
    a = np.arange(n_angles + 1)
    for k in np.nonzero(found)[0]:
        if not np.isfinite(radii[k]).any() or not np.isfinite(centres[k]).all():
            continue  # no finite radius (or no centre): no pixel is inside
        reach = float(np.nanmax(radii[k]))
        cy, cx = centres[k]
        rows, cols = around((cy, cx), reach, (sy, sx), (ny, nx))
        if rows.start >= rows.stop or cols.start >= cols.stop:
            continue
        yy, xx = np.mgrid[rows, cols]
        dy = (yy - cy) * sy
        dx = (xx - cx) * sx
        rr = np.hypot(dy, dx)
        theta = np.mod(np.arctan2(dy, dx), 2 * np.pi) * n_angles / (2 * np.pi)
        limit = np.interp(theta, a, np.append(radii[k], radii[k, 0]))
        mask[k, rows, cols] = rr <= limit
    return mask
