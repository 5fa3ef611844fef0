"""The canal score: where a dark structure narrower than the canal lies enclosed by brighter fluid (a black
top-hat averaged over the cord's core), and the canal interior: what is brighter than the canal wall (a white
top-hat at the canal's scale). See :mod:`workers.analysis.cord.centreline`, which tracks the cord on them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from workers.analysis.cord.grey_filters import boundary_padded, closing, opening, part_columns, widened

CORE_RADIUS_MM = 2.5  # the smallest cord half-width (AP) in adults
THIN_MM = 1.5  # dark structures thinner than twice this are not cord
CLOSING_RADIUS_MM = 8.0  # wider than the widest cord half-width (RL, cervical enlargement)
CANAL_RADIUS_MM = 12.0  # wider than the widest canal half-width (cord and CSF)
_SMOOTH_SIGMA = 0.5  # pixels: the noise smoothing before the top-hats


def _square(radius_mm: float, sy: float, sx: float) -> tuple[int, int]:
    """The size (rows, columns) of a square structuring element reaching ``radius_mm`` from its centre."""
    return 2 * int(np.ceil(radius_mm / sy)) + 1, 2 * int(np.ceil(radius_mm / sx)) + 1


def _core_kernel(sy: float, sx: float) -> np.ndarray:
    """The mean over a disc of :data:`CORE_RADIUS_MM` (the cord's core), as a correlation kernel."""
    cy, cx = int(np.ceil(CORE_RADIUS_MM / sy)), int(np.ceil(CORE_RADIUS_MM / sx))
    yy, xx = np.mgrid[-cy : cy + 1, -cx : cx + 1]
    core = (np.hypot(yy * sy, xx * sx) <= CORE_RADIUS_MM).astype(np.float32)
    return core / core.sum()


def canal_scores(image: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Canal score of every pixel of a normalised (CSF bright) volume: the black top-hat (grey closing with a
    square wider than any cord, minus the image) averaged over the cord core. High inside a dark structure
    narrower than :data:`CLOSING_RADIUS_MM` and enclosed by brighter tissue; -inf near the borders."""
    return np.stack([plane_scores(plane, spacing, slice(0, plane.shape[1])) for plane in smoothed(image)])


def canal_interior(image: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """How much brighter than the canal wall each pixel of a normalised (CSF bright) volume is: the white
    top-hat (the image minus its grey opening by a square wider than the canal) averaged over the cord core.
    Cord and CSF together fill the canal, brighter than the bone and ligaments around it: the cord scores
    its own level above the wall; a dark structure outside the canal (ligament, vessel, bone) scores ~0."""
    _, ny, nx = image.shape
    every = np.argwhere(np.ones((ny, nx), dtype=bool))
    return np.stack([plane_interior(plane, spacing, every).reshape(ny, nx) for plane in smoothed(image)])


def smoothed(image: np.ndarray) -> np.ndarray:
    """The noise smoothing of every plane of ``image`` (each plane as on its own: nothing along z)."""
    return np.asarray(ndimage.gaussian_filter(image, (0.0, _SMOOTH_SIGMA, _SMOOTH_SIGMA)))


@dataclass(frozen=True)
class _Core:
    """The core kernel (:func:`_core_kernel`) of a pixel spacing: its half sizes and its taps (row offset,
    column offset, weight) in the order ``ndimage.correlate`` sums them (row by row; weights above the
    float64 epsilon)."""

    rows: int
    cols: int
    taps: tuple[tuple[int, int, float], ...]


@functools.lru_cache(maxsize=16)
def _core(sy: float, sx: float) -> _Core:
    kernel = _core_kernel(sy, sx)
    cy, cx = kernel.shape[0] // 2, kernel.shape[1] // 2
    weights = kernel.astype(np.float64)
    keep = np.argwhere(np.abs(weights) > np.finfo(np.float64).eps)
    return _Core(cy, cx, tuple((int(i) - cy, int(j) - cx, float(weights[i, j])) for i, j in keep))


def _core_sums(values: np.ndarray, core: _Core, at: Any) -> np.ndarray:
    """``ndimage.correlate(values, kernel, mode="nearest")`` of a float32 plane (part) at ``at`` (a function
    of the edge-padded float64 plane and a tap's offsets giving the tap's values there), to the bit:
    each product is exact in float64 and they are summed from 0 in the kernel's order, then rounded to
    float32, as scipy does; only the pixels asked for are computed."""
    cy, cx = core.rows, core.cols
    padded = boundary_padded(boundary_padded(values.astype(np.float64), 0, cy, "nearest"), 1, cx, "nearest")
    products = {w: w * padded for w in {w for _, _, w in core.taps}}
    total = np.zeros_like(at(padded, 0, 0))
    for dy, dx, w in core.taps:
        total += at(products[w], cy + dy, cx + dx)
    return total.astype(np.float32)


def plane_scores(smooth: np.ndarray, spacing: tuple[float, float, float], cols: slice) -> np.ndarray:
    """:func:`canal_scores` of the columns ``cols`` of one smoothed plane (every row)."""
    _, sy, sx = spacing
    wide = _square(CLOSING_RADIUS_MM, sy, sx)
    thin = _square(THIN_MM, sy, sx)
    core = _core(sy, sx)
    cy, cx = core.rows, core.cols
    ny, nx = smooth.shape
    read = widened(cols, cx, nx)  # the columns the core mean reads
    # Square structuring elements (separable, fast). Outside the field is no fluid: mode constant 0.
    closed = closing(smooth, wide, read, "constant")
    # Dark lines narrower than any cord (ligaments, vessels, noise) are closed first and do not count.
    solid = closing(smooth, thin, read, "reflect")
    inner = part_columns(cols, read)
    scores = _core_sums(closed - solid, core, lambda p, i, j: p[i : i + ny, inner.start + j : inner.stop + j])
    scores[:cy] = scores[-cy:] = -np.inf
    x = np.arange(cols.start, cols.stop)
    scores[:, (x < cx) | (x >= nx - cx)] = -np.inf
    return scores


def plane_interior(smooth: np.ndarray, spacing: tuple[float, float, float], at: np.ndarray) -> np.ndarray:
    """:func:`canal_interior` of one smoothed plane at the pixels ``at`` (n, 2: row, column)."""
    _, sy, sx = spacing
    wide = _square(CANAL_RADIUS_MM, sy, sx)
    core = _core(sy, sx)
    if len(at) == 0:
        return np.zeros(0, dtype=np.float32)
    read = widened(slice(int(at[:, 1].min()), int(at[:, 1].max()) + 1), core.cols, smooth.shape[1])
    tophat = smooth[:, read] - opening(smooth, wide, read, "nearest")
    rows, cols = at[:, 0], at[:, 1] - read.start
    return _core_sums(tophat, core, lambda p, i, j: p[rows + i, cols + j])
