"""The canal is looked for on every sagittal slice as it is (no slice read in place of its neighbour).

Synthetic volume (no real volume has its canal on one slice only, which is what shows a slice read as its
neighbour): twenty 1 mm sagittal slices; slice 7 alone holds a 10 mm bright column (the canal), every other
slice a 3 mm bright line elsewhere. The slices were once read through a set ({7, 8} iterates 8 first), so
slice 7 was read as slice 8 and its canal was never seen.
"""

from __future__ import annotations

import numpy as np
import pytest

from workers.analysis.levels.sagittal_canal import find_canal
from workers.analysis.volume import Volume


def _volume(canal_slice: int) -> Volume:
    rng = np.random.default_rng(3)
    n, rows, cols = 20, 120, 80  # slices along x, rows along -z, columns along y (1 mm)
    array = (0.2 + 0.02 * rng.standard_normal((n, rows, cols))).astype(np.float32)
    array[:, :, 66:69] = 1.0
    array[canal_slice, :, 66:69] = 0.2
    array[canal_slice, :, 35:45] = 1.0
    positions = np.array([[float(k), -40.0, 60.0] for k in range(n)])
    uids = tuple(f"1.2.826.0.1.3680043.8.498.{k + 1}" for k in range(n))
    return Volume(array, np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, -1.0]), positions, (1.0, 1.0), uids)


@pytest.mark.parametrize("canal_slice", [6, 7, 15])
def test_the_canal_is_found_on_the_one_slice_that_holds_it(canal_slice: int) -> None:
    canal = find_canal(_volume(canal_slice))
    assert canal.slices_through_canal == 1
    assert canal.x_mm == pytest.approx(float(canal_slice))
    assert np.median(canal.points[:, 1]) == pytest.approx(-40.0 + 39.5, abs=1.5)  # columns 35-44
