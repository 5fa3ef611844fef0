"""The spinal canal on a sagittal T2, found on its own (no cord segmentation): the bright CSF column.

Each sagittal slice is resampled on a 1 mm patient grid (rows: z from the top, columns: y from front to back).
A canal response (the mean signal of a 12 mm band against the two 8 mm bands beside it: the CSF and cord
are brighter than the bone and ligaments around them on T2) is followed from the top to the bottom of the
field by dynamic programming, at most 2 mm sideways per mm of height. The slices whose path lies where the
best slice's path lies (within 5 mm) are the slices through the canal; the middle one is the mid-sagittal
plane, where the path is found again on a 3 mm slab and smoothed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workers.analysis.volume import Volume

GRID_MM = 1.0
CORE_MM, FLANK_MM, FLANK_AT_MM = 12, 8, 10
MAX_STEP = 2
STEP_PENALTY = 0.02
SAME_CANAL_MM = 5.0
SMOOTH_MM = 4.0


@dataclass(frozen=True)
class SagittalCanal:
    """The canal centre line in the mid-sagittal plane, top to bottom, at 1 mm steps of arc length."""

    x_mm: float
    points: np.ndarray  # (N, 3) patient (LPS) mm
    anterior: np.ndarray  # (N, 3) unit vectors in the sagittal plane, perpendicular to the line, to the front
    slices_through_canal: int

    def as_line(self) -> np.ndarray:
        """Points in ascending z (the form :func:`workers.analysis.levels.dens_ratio` takes)."""
        return np.asarray(self.points[np.argsort(self.points[:, 2])])


def field_bounds(volume: Volume) -> tuple[np.ndarray, np.ndarray]:
    shape = np.array(volume.array.shape) - 1
    corners = np.array([[a, b, c] for a in (0, shape[0]) for b in (0, shape[1]) for c in (0, shape[2])])
    points = volume.to_patient(corners)
    return points.min(axis=0), points.max(axis=0)


def voxels(volume: Volume) -> np.ndarray:
    """The volume's voxels as float32, the form every sampling of the levels takes (no copy when the
    volume already holds float32, as :func:`workers.analysis.volume.load_volume` gives it)."""
    return np.asarray(volume.array, dtype=np.float32)


def sample(volume: Volume, array: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Linear samples of ``array`` (the volume's voxels as float) at patient points (..., 3); NaN outside."""
    flat = points.reshape(-1, 3)
    values = ndimage.map_coordinates(array, volume.to_index(flat).T, order=1, mode="constant", cval=np.nan)
    return np.asarray(values).reshape(points.shape[:-1])


def _response(images: np.ndarray) -> np.ndarray:
    """Canal response of a stack of images (slice, row, column), each scaled by its 99th percentile."""
    a = np.nan_to_num(images, nan=0.0)
    scale = np.array([float(np.percentile(im[im > 0], 99)) if (im > 0).any() else 1.0 for im in a])
    a = a / scale[:, None, None]
    core = ndimage.uniform_filter1d(a, CORE_MM, axis=2, mode="nearest")
    flank = ndimage.uniform_filter1d(a, FLANK_MM, axis=2, mode="nearest")
    # The flanks FLANK_AT_MM to either side (wrapping round, as np.roll does), summed in place.
    s = FLANK_AT_MM
    sides = np.empty_like(flank)
    sides[..., s:], sides[..., :s] = flank[..., :-s], flank[..., -s:]
    sides[..., :-s] += flank[..., s:]
    sides[..., -s:] += flank[..., :s]
    sides *= 0.5
    core -= sides
    return np.asarray(core)


def track(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column of the canal in each row of each image (slice, row, column; rows top to bottom), and the
    score of each slice's path."""
    response = _response(images)
    n, rows, cols = response.shape
    score = response[:, 0].copy()
    back = np.zeros((n, rows, cols), dtype=np.int8)
    shifts = np.arange(-MAX_STEP, MAX_STEP + 1)
    options = np.empty((len(shifts), n, cols))
    for i in range(1, rows):
        options.fill(-np.inf)
        for j, s in enumerate(shifts):
            if s >= 0:
                options[j, :, s:] = score[:, : cols - s] - STEP_PENALTY * abs(s)
            else:
                options[j, :, :s] = score[:, -s:] - STEP_PENALTY * abs(s)
        best = np.argmax(options, axis=0)
        back[:, i] = shifts[best]
        score = np.take_along_axis(options, best[None], axis=0)[0] + response[:, i]
    paths = np.zeros((n, rows), dtype=int)
    paths[:, -1] = np.argmax(score, axis=1)
    for i in range(rows - 1, 0, -1):
        paths[:, i - 1] = paths[:, i] - back[np.arange(n), i, paths[:, i]]
    return paths, score.max(axis=1)


def find_canal(volume: Volume) -> SagittalCanal:
    """The canal of a sagittal T2; ValueError when the series is not sagittal or too small to hold one."""
    if volume.plane() != "sagittal":
        raise ValueError(f"the series is {volume.plane()}, not sagittal")
    low, high = field_bounds(volume)
    zs = np.arange(high[2], low[2], -GRID_MM)
    ys = np.arange(low[1], high[1], GRID_MM)
    if len(zs) < 30 or len(ys) < 3 * CORE_MM:
        raise ValueError(f"the field ({len(ys)} x {len(zs)} mm) is too small to follow the canal")
    array = voxels(volume)
    if not np.isfinite(array).any() or float(np.nanmax(array)) <= float(np.nanmin(array)):
        raise ValueError("the series holds no signal")
    xs = np.array([float(p[0]) for p in volume.positions])
    z_grid, y_grid = np.meshgrid(zs, ys, indexing="ij")
    # The grid projected on the slices' own planes (one in-plane mapping for the parallel slices).
    index = volume.to_index(np.stack([np.full(z_grid.size, xs[0]), y_grid.ravel(), z_grid.ravel()], axis=1))
    rc = index[:, 1:].T

    def image_at(k: float) -> np.ndarray:
        """The slice at fractional slice index ``k`` (linear between neighbouring slices), on the grid."""
        below = int(np.clip(np.floor(k), 0, len(xs) - 1))
        above = min(below + 1, len(xs) - 1)
        w = float(np.clip(k - below, 0.0, 1.0))
        # A whole slice (w = 0) is read alone: the grid falls outside the field at the same pixels on
        # every slice, so its neighbour would only add zeros.
        used = [i for i, weight in ((below, 1 - w), (above, w)) if weight > 0 or i == below]
        planes = [ndimage.map_coordinates(array[i], rc, order=1, mode="constant", cval=np.nan) for i in used]
        value = planes[0] if len(planes) == 1 or below == above else (1 - w) * planes[0] + w * planes[1]
        return np.asarray(value).reshape(z_grid.shape)

    stack = np.array([image_at(k) for k in range(len(xs))])
    paths, scores = track(stack)
    centres = np.median(ys[paths], axis=1)
    best = int(np.argmax(scores))
    same = np.abs(centres - centres[best]) <= SAME_CANAL_MM
    first = last = best
    while first > 0 and same[first - 1]:
        first -= 1
    while last < len(xs) - 1 and same[last + 1]:
        last += 1
    k_mid = 0.5 * (first + last)
    x_mid = float(np.interp(k_mid, np.arange(len(xs)), xs))
    slab = np.nanmean([image_at(k_mid + d) for d in (-1, 0, 1)], axis=0)
    path = track(slab[None])[0][0]
    rows = np.nonzero(np.isfinite(slab[np.arange(len(zs)), path]))[0]
    if len(rows) < 30:
        raise ValueError("no canal followed over 30 mm")
    z = zs[rows]
    y = ndimage.gaussian_filter1d(ys[path[rows]].astype(float), SMOOTH_MM, mode="nearest")
    return along(np.column_stack([np.full_like(z, x_mid), y, z]), last - first + 1)


def along(line: np.ndarray, slices_through_canal: int = 1) -> SagittalCanal:
    """A canal through the points ``line`` (N x 3 patient mm, top to bottom, in one sagittal plane: its
    median x), resampled at 1 mm steps of arc length, with its normals to the front."""
    x_mid = float(np.median(line[:, 0]))
    z, y = line[:, 2], line[:, 1]
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(z), np.diff(y)))])
    s = np.arange(0.0, arc[-1], GRID_MM)
    zc, yc = np.interp(s, arc, z), np.interp(s, arc, y)
    tz, ty = np.gradient(zc), np.gradient(yc)
    norm = np.hypot(tz, ty)
    # Perpendicular to the line (ty, tz) in the y-z plane, to the front (-y in LPS; z falls along the line).
    ny, nz = tz / norm, -ty / norm
    points = np.column_stack([np.full_like(zc, x_mid), yc, zc])
    anterior = np.column_stack([np.zeros_like(zc), ny, nz])
    return SagittalCanal(x_mid, points, anterior, slices_through_canal)
