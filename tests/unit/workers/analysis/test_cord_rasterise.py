"""The cord mask of a contour is tested only near the contour; it must be the mask of the whole-grid test."""

from __future__ import annotations

import numpy as np

from workers.analysis.cord.boundary import rasterise


def _whole_grid(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    centres: np.ndarray,
    radii: np.ndarray,
    found: np.ndarray,
) -> np.ndarray:
    """Every pixel against the interpolated radius at its angle (the definition of the mask)."""
    nz, ny, nx = shape
    _, sy, sx = spacing
    n_angles = radii.shape[1]
    mask = np.zeros(shape, dtype=bool)
    yy, xx = np.mgrid[0:ny, 0:nx]
    for k in np.nonzero(found)[0]:
        dy, dx = (yy - centres[k, 0]) * sy, (xx - centres[k, 1]) * sx
        theta = np.mod(np.arctan2(dy, dx), 2 * np.pi) * n_angles / (2 * np.pi)
        with np.errstate(invalid="ignore"):
            limit = np.interp(theta, np.arange(n_angles + 1), np.append(radii[k], radii[k, 0]))
            mask[k] = np.hypot(dy, dx) <= limit
    return mask


def test_mask_equals_the_whole_grid_test_near_borders_and_with_missing_radii() -> None:
    rng = np.random.default_rng(7)
    inside = 0
    for case in range(120):
        shape = (3, int(rng.integers(5, 70)), int(rng.integers(5, 70)))
        spacing = (3.0, float(rng.uniform(0.2, 1.5)), float(rng.uniform(0.2, 1.5)))
        # Centres also off the grid and on its border, so that the window is clipped.
        centres = np.stack([rng.uniform(-8, shape[1] + 8, 3), rng.uniform(-8, shape[2] + 8, 3)], 1)
        radii = rng.uniform(0.0, 12.0, (3, 72))
        radii[rng.random((3, 72)) < 0.05] = np.nan
        if case % 6 == 0:
            radii[1] = np.nan  # no radius at all
        found = np.array([True, True, case % 2 == 0])
        got = rasterise(shape, spacing, centres, radii, found)
        np.testing.assert_array_equal(got, _whole_grid(shape, spacing, centres, radii, found))
        inside += int(got.sum())
    assert inside > 1000  # the cases do hold contours, not only empty masks
