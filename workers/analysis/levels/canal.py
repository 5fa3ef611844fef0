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


def sample(volume: Volume, array: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Linear samples of ``array`` (the volume's voxels as float) at patient points (..., 3); NaN outside."""
    flat = points.reshape(-1, 3)
    values = ndimage.map_coordinates(array, volume.to_index(flat).T, order=1, mode="constant", cval=np.nan)
    return np.asarray(values).reshape(points.shape[:-1])


def _response(image: np.ndarray) -> np.ndarray:
    a = np.nan_to_num(image, nan=0.0)
    positive = a[a > 0]
    a = a / (float(np.percentile(positive, 99)) if positive.size else 1.0)
    core = ndimage.uniform_filter1d(a, CORE_MM, axis=1, mode="nearest")
    flank = ndimage.uniform_filter1d(a, FLANK_MM, axis=1, mode="nearest")
    return np.asarray(core - 0.5 * (np.roll(flank, FLANK_AT_MM, axis=1) + np.roll(flank, -FLANK_AT_MM, axis=1)))


def track(image: np.ndarray) -> tuple[np.ndarray, float]:
    """Column index of the canal in each row of ``image`` (rows top to bottom) and the path's score."""
    response = _response(image)
    rows, cols = response.shape
    score = response[0].copy()
    back = np.zeros((rows, cols), dtype=int)
    shifts = np.arange(-MAX_STEP, MAX_STEP + 1)
    for i in range(1, rows):
        options = np.full((len(shifts), cols), -np.inf)
        for j, s in enumerate(shifts):
            if s >= 0:
                options[j, s:] = score[: cols - s] - STEP_PENALTY * abs(s)
            else:
                options[j, :s] = score[-s:] - STEP_PENALTY * abs(s)
        best = np.argmax(options, axis=0)
        back[i] = shifts[best]
        score = options[best, np.arange(cols)] + response[i]
    path = np.zeros(rows, dtype=int)
    path[-1] = int(np.argmax(score))
    for i in range(rows - 1, 0, -1):
        path[i - 1] = path[i] - back[i, path[i]]
    return path, float(score.max())


def find_canal(volume: Volume) -> SagittalCanal:
    """The canal of a sagittal T2; ValueError when the series is not sagittal or too small to hold one."""
    if volume.plane() != "sagittal":
        raise ValueError(f"the series is {volume.plane()}, not sagittal")
    low, high = field_bounds(volume)
    zs = np.arange(high[2], low[2], -GRID_MM)
    ys = np.arange(low[1], high[1], GRID_MM)
    if len(zs) < 30 or len(ys) < 3 * CORE_MM:
        raise ValueError(f"the field ({len(ys)} x {len(zs)} mm) is too small to follow the canal")
    array = volume.array.astype(np.float32)
    xs = np.array([float(p[0]) for p in volume.positions])
    z_grid, y_grid = np.meshgrid(zs, ys, indexing="ij")

    def image_at(x: float) -> np.ndarray:
        points = np.stack([np.full_like(z_grid, x), y_grid, z_grid], axis=-1)
        return sample(volume, array, points)

    paths = []
    for x in xs:
        path, score = track(image_at(float(x)))
        paths.append((float(np.median(ys[path])), score))
    best = int(np.argmax([s for _, s in paths]))
    same = [abs(y - paths[best][0]) <= SAME_CANAL_MM for y, _ in paths]
    first = last = best
    while first > 0 and same[first - 1]:
        first -= 1
    while last < len(xs) - 1 and same[last + 1]:
        last += 1
    x_mid = float(0.5 * (xs[first] + xs[last]))
    step = float(np.median(np.abs(np.diff(xs)))) if len(xs) > 1 else 1.0
    slab = np.nanmean([image_at(x_mid + d * step) for d in (-1, 0, 1)], axis=0)
    path, _ = track(slab)
    rows = np.nonzero(np.isfinite(slab[np.arange(len(zs)), path]))[0]
    if len(rows) < 30:
        raise ValueError("no canal followed over 30 mm")
    z = zs[rows]
    y = ndimage.gaussian_filter1d(ys[path[rows]].astype(float), SMOOTH_MM, mode="nearest")
    arc = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(z), np.diff(y)))])
    s = np.arange(0.0, arc[-1], GRID_MM)
    zc, yc = np.interp(s, arc, z), np.interp(s, arc, y)
    tz, ty = np.gradient(zc), np.gradient(yc)
    norm = np.hypot(tz, ty)
    # Perpendicular to the line (ty, tz) in the y-z plane, to the front (-y in LPS; z falls along the line).
    ny, nz = tz / norm, -ty / norm
    points = np.column_stack([np.full_like(zc, x_mid), yc, zc])
    anterior = np.column_stack([np.zeros_like(zc), ny, nz])
    return SagittalCanal(x_mid, points, anterior, last - first + 1)
