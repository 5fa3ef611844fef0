"""Anterior-horn foci: bright spots in the anterior half of the cord outline, on both sides of its centre."""

from __future__ import annotations

import numpy as np
import pytest

from workers.analysis.canal import AH_RATIO, anterior_horn_slices
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.segmentation import CordSegmentation


def _cord(centre: tuple[float, float], sides: tuple[int, ...], shape: tuple[int, int] = (64, 64)) -> CordSegmentation:
    """Three slices of a disc of radius 8 px (the cord) at ``centre``; 2x2 foci at AH_RATIO x 1.5 the cord's
    level, 3 px anterior (-y: LPS, the view's y axis along +y) and 3 px to each side in ``sides``."""
    ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    cy, cx = centre
    disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= 8.0**2
    array = np.full((3, ny, nx), 100.0, dtype=np.float32)
    for side in sides:
        y, x = int(cy) - 3, int(cx) + 3 * side
        array[:, y : y + 2, x : x + 2] = 100.0 * AH_RATIO * 1.5
    affine = np.diag([3.0, 0.5, 0.5, 1.0])  # (z, y, x) -> patient: y along +y (posterior), so anterior is -y
    view = AxialView(array, affine, (0, 1, 2))
    mask = np.repeat(disc[None], 3, axis=0)
    return CordSegmentation(
        view=view,
        centres=np.tile([cy, cx], (3, 1)).astype(float),
        radii=np.full((3, 72), 4.0),
        found=np.ones(3, dtype=bool),
        mask=mask,
    )


@pytest.mark.parametrize("centre", [(32.0, 32.0), (7.0, 7.0), (56.0, 57.0)])  # mid-slice and cut by the border
def test_foci_on_both_sides_are_found_and_on_one_side_not(centre: tuple[float, float]) -> None:
    assert anterior_horn_slices(_cord(centre, (-1, 1))).tolist() == [True, True, True]
    assert anterior_horn_slices(_cord(centre, (1,))).tolist() == [False, False, False]
    assert anterior_horn_slices(_cord(centre, ())).tolist() == [False, False, False]


def test_a_slice_without_any_outline_nearby_is_not_flagged() -> None:
    seg = _cord((32.0, 32.0), (-1, 1))
    seg.mask[:] = False
    assert not anterior_horn_slices(seg).any()
