"""The cheaper ways the centre line computes its intensity range, padding and gradient give, to the bit, what
numpy's and scipy's own functions give (on real cord volumes and on synthetic arrays full of ties), and the QC
normalises a series by the segmentation's range as it would by its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import ndimage

from workers.analysis.cord import gradient, grey_filters, qc
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.centreline import Polarity, intensity_range, normalised
from workers.analysis.cord.gradient import gradient_magnitude
from workers.analysis.cord.morphometry import slice_morphometry
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.volume import load_volume


def _synthetic() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    out = []
    for shape in [(1, 5, 7), (2, 1, 9), (3, 8, 1), (5, 2, 2), (7, 40, 33), (4, 300, 260)]:
        out.append(rng.random(shape, dtype=np.float32))
        out.append((np.round(rng.random(shape) * 3) / 3).astype(np.float32))  # plateaus and ties everywhere
    return out


def _real(wrap: Callable[..., Any]) -> list[np.ndarray]:
    views = [
        AxialView.of(load_volume(wrap(path, plane))).array
        for path, plane in [("t2/t2.nii.gz", "sagittal"), ("t2s/t2s.nii.gz", "axial"), ("t1/t1w.nii.gz", "sagittal")]
    ]
    return [a for a in views for a in (a, normalised(a, Polarity.CSF_BRIGHT), normalised(a, Polarity.CSF_DARK))]


def _same(x: np.ndarray, y: np.ndarray) -> bool:
    """Equal floats of the same type, signed zeros included."""
    return x.dtype == y.dtype and np.array_equal(x, y) and bool((np.signbit(x) == np.signbit(y)).all())


def _percentiles(a: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(a, [0.5, 99.5])
    return float(lo), float(hi)


def test_the_intensity_range_is_numpys_percentiles_on_synthetic_values() -> None:
    rng = np.random.default_rng(4)
    for n in [10, 1023, 1024, 1100, 5001, 100_000, 400_001]:
        values = [
            rng.random(n).astype(np.float32),
            np.round(rng.random(n) * 7).astype(np.float32),  # few values: the tails are ties
            (rng.integers(0, 4000, n) * 0.37).astype(np.float32),
            np.where(rng.random(n) < 0.4, 0.0, rng.random(n)).astype(np.float32),  # a background of zeros
            np.full(n, 2.5, dtype=np.float32),
            rng.random(n),  # float64
            rng.integers(0, 4096, n).astype(np.uint16),
        ]
        for a in values:
            assert intensity_range(a) == _percentiles(a), (n, a.dtype)
    with_nan = rng.random(5000).astype(np.float32)
    with_nan[7] = np.nan
    assert np.isnan(intensity_range(with_nan)).all()


def test_the_intensity_range_is_numpys_percentiles_on_real_volumes(wrap: Callable[..., Any]) -> None:
    for a in _real(wrap):
        assert intensity_range(a) == _percentiles(a)


@pytest.mark.parametrize("mode", ["constant", "reflect", "nearest"])
def test_padding_is_numpys(mode: str) -> None:
    rng = np.random.default_rng(1)
    for shape in [(1, 1), (3, 5), (7, 2), (10, 10), (2, 4, 6)]:
        a = rng.random(shape).astype(np.float32)
        for axis in range(a.ndim):
            for width in range(9):
                pad = [(0, 0)] * a.ndim
                pad[axis] = (width, width)
                expected = np.pad(a, pad, mode=grey_filters._PADDING[mode])  # type: ignore[call-overload]
                assert _same(grey_filters.boundary_padded(a, axis, width, mode), expected), (shape, axis, width)


def test_gradient_magnitude_is_scipys_sobel_on_synthetic_volumes() -> None:
    for a in _synthetic():
        expected = np.hypot(ndimage.sobel(a, axis=1), ndimage.sobel(a, axis=2))
        assert _same(gradient_magnitude(a), expected), a.shape


def test_gradient_magnitude_is_scipys_sobel_on_real_volumes(wrap: Callable[..., Any]) -> None:
    for a in _real(wrap):
        a = np.asarray(a, dtype=np.float32)
        expected = np.hypot(ndimage.sobel(a, axis=1), ndimage.sobel(a, axis=2))
        assert _same(gradient_magnitude(a), expected), a.shape
        for chunk in (1, 3):  # a chunk of one slice, and chunks that do not divide the volume
            original = gradient._GRADIENT_CHUNK
            gradient._GRADIENT_CHUNK = chunk * a.shape[1] * a.shape[2]
            try:
                assert _same(gradient_magnitude(a), expected), (a.shape, chunk)
            finally:
                gradient._GRADIENT_CHUNK = original


def test_the_qc_normalises_by_the_segmentations_range_as_by_its_own(wrap: Callable[..., Any]) -> None:
    seg = segment_cord(AxialView.of(load_volume(wrap("t2s/t2s.nii.gz", "axial"))), polarity=Polarity.CSF_BRIGHT)
    assert seg.intensity_range == _percentiles(seg.view.array)
    handed = normalised(seg.view.array, seg.polarity, seg.intensity_range)
    assert _same(handed, normalised(seg.view.array, seg.polarity))
    slices = slice_morphometry(seg)
    from dataclasses import replace

    assert qc.figures(seg, slices) == qc.figures(replace(seg, intensity_range=None), slices)
