"""The canal score and interior computed on a few columns of a slice (or at a few pixels) equal, to the bit,
those of scipy's filters on the whole slice; the centre line tracked from them is the one the whole-slice scores
give."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from workers.analysis.cord import canal_score, centreline, grey_filters
from workers.analysis.cord.canal_score import canal_interior, canal_scores
from workers.analysis.cord.centreline import Polarity
from workers.analysis.cord.window import within


def _slices(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.random((2, 90, 120), dtype=np.float32), 1.5).astype(np.float32)


def _quantised(seed: int = 5) -> np.ndarray:
    """Slices of few grey levels: plateaus and ties everywhere (maxima, closings and sums that are equal)."""
    return (np.round(_slices(seed) * 12.0) / 12.0).astype(np.float32)


@pytest.mark.parametrize("spacing", [(3.0, 0.5, 0.5), (4.0, 0.8, 0.6)])
@pytest.mark.parametrize("cols", [slice(0, 9), slice(40, 61), slice(100, 120), slice(0, 120), slice(57, 58)])
def test_columns_score_as_the_whole_slice(spacing: tuple[float, float, float], cols: slice) -> None:
    image = _slices()
    full_scores, full_interior = canal_scores(image, spacing), canal_interior(image, spacing)
    for k, plane in enumerate(canal_score.smoothed(image)):
        np.testing.assert_array_equal(canal_score.plane_scores(plane, spacing, cols), full_scores[k][:, cols])
        at = np.argwhere(np.ones((plane.shape[0], cols.stop - cols.start), dtype=bool)) + [0, cols.start]
        interior = canal_score.plane_interior(plane, spacing, at)
        np.testing.assert_array_equal(interior, full_interior[k][at[:, 0], at[:, 1]])
        few = at[:: max(1, len(at) // 7)]  # a few pixels (candidates) read only the columns around them
        np.testing.assert_array_equal(canal_score.plane_interior(plane, spacing, few), full_interior[k][tuple(few.T)])


@pytest.mark.parametrize("spacing", [(3.0, 0.5, 0.5), (4.0, 0.8, 0.6), (1.0, 1.0, 3.0)])
@pytest.mark.parametrize("make", [_slices, _quantised])
def test_scores_are_those_of_scipys_filters_on_the_whole_slice_to_the_bit(
    spacing: tuple[float, float, float], make: Any
) -> None:
    """The canal score and interior are the black and white top-hats of scipy's filters on the whole smoothed
    slice, averaged over the core by ``ndimage.correlate``: the same floats, not merely close ones."""
    image = make()
    _, sy, sx = spacing
    core = canal_score._core_kernel(sy, sx)
    cy, cx = core.shape[0] // 2, core.shape[1] // 2
    scores, interior = canal_scores(image, spacing), canal_interior(image, spacing)
    wide, thin, canal = (canal_score._square(mm, sy, sx) for mm in (8.0, 1.5, 12.0))
    assert (8.0, 1.5, 12.0) == (canal_score.CLOSING_RADIUS_MM, canal_score.THIN_MM, canal_score.CANAL_RADIUS_MM)
    for k, plane in enumerate(image):
        smooth = ndimage.gaussian_filter(plane, 0.5)
        closed = ndimage.grey_closing(smooth, size=wide, mode="constant", cval=0.0)
        black = ndimage.correlate(closed - ndimage.grey_closing(smooth, size=thin), core, mode="nearest")
        black[:cy] = black[-cy:] = -np.inf
        black[:, :cx] = black[:, -cx:] = -np.inf
        np.testing.assert_array_equal(scores[k], black)
        opened = ndimage.grey_opening(smooth, size=canal, mode="nearest")
        np.testing.assert_array_equal(interior[k], ndimage.correlate(smooth - opened, core, mode="nearest"))


def test_within_reaches_two_columns_past_the_reach_and_stops_at_the_edges() -> None:
    assert within(50.0, 10.0, 120) == slice(38, 63)
    assert within(50.5, 10.0, 120) == slice(38, 64)
    assert within(3.0, 10.0, 120) == slice(0, 16)
    assert within(115.0, 10.0, 120) == slice(103, 120)


def _whole_slice_candidates(
    image: np.ndarray, spacing: tuple[float, float, float], midline: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The candidates as ranked from the canal score and interior of every pixel."""
    scores = canal_scores(image, spacing)
    rank = np.minimum(scores, np.maximum(canal_interior(image, spacing), 0.0))
    reach = centreline.MIDLINE_REACH_MM / spacing[2]
    cands, vals = [], []
    for k, s in enumerate(scores):
        idx = np.argwhere((s == ndimage.maximum_filter(s, size=5)) & np.isfinite(s))
        near = np.abs(idx[:, 1] - midline[k]) <= reach
        idx = idx[near] if near.any() else idx
        v = rank[k][idx[:, 0], idx[:, 1]]
        order = np.argsort(-v)[: centreline.N_CANDIDATES]
        cands.append(idx[order].astype(float))
        vals.append(v[order].astype(float))
    return cands, vals


@pytest.mark.parametrize("axis", [60.3, 2.0, 400.0])  # mid-field, at the edge, far outside (no maximum near)
def test_candidates_are_those_of_the_whole_slice(axis: float) -> None:
    image, spacing = _slices(), (3.0, 0.5, 0.5)
    midline = np.full(len(image), axis)
    cands, vals, scores = centreline._candidates(image, spacing, Polarity.CSF_BRIGHT, midline)
    want_cands, want_vals = _whole_slice_candidates(image, spacing, midline)
    for got, want in zip(cands + vals, want_cands + want_vals, strict=True):
        np.testing.assert_array_equal(got, want)
    full = canal_scores(image, spacing)
    for k, c in enumerate(cands):
        np.testing.assert_array_equal(
            scores[k][c[:, 0].astype(int), c[:, 1].astype(int)], full[k][tuple(c.T.astype(int))]
        )


@pytest.mark.parametrize("mode", ["constant", "reflect", "nearest"])
@pytest.mark.parametrize("size", [(5, 5), (7, 3), (27, 27), (41, 41), (1, 9)])
def test_rectangle_extremes_are_scipys_grey_dilation_and_erosion(mode: str, size: tuple[int, int]) -> None:
    for image in (_slices()[0], _quantised()[0]):  # the quantised slice: ties in every window
        np.testing.assert_array_equal(
            grey_filters.rectangle(image, size, mode, np.maximum), ndimage.grey_dilation(image, size=size, mode=mode)
        )
        np.testing.assert_array_equal(
            grey_filters.rectangle(image, size, mode, np.minimum), ndimage.grey_erosion(image, size=size, mode=mode)
        )
