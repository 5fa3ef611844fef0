"""The boundary's closed path over the rays: the shifts of one ray to the next weighed all at once give the
path that weighing them one by one (the first best shift kept) gives, ties and rays no path reaches included."""

from __future__ import annotations

import numpy as np
import pytest

from workers.analysis.cord import boundary


def _one_shift_at_a_time(gain: np.ndarray, r: np.ndarray, step: float) -> np.ndarray:
    nz, n_angles, n = gain.shape
    reach = max(1, int(np.floor(boundary.MAX_STEP_MM / step + 1e-9)))
    shifts = np.arange(-reach, reach + 1)
    order = np.concatenate([np.arange(n_angles), np.arange(n_angles), np.arange(n_angles // 2)])
    total = gain[:, order[0]].copy()
    back = np.zeros((len(order), nz, n), dtype=np.int8)
    for t in range(1, len(order)):
        best, arg = np.full((nz, n), -np.inf), np.zeros((nz, n), dtype=np.int8)
        for s in shifts:
            moved = np.full((nz, n), -np.inf)
            if s >= 0:
                moved[:, s:] = total[:, : n - s]
            else:
                moved[:, :s] = total[:, -s:]
            moved -= boundary.STEP_COST * (s * step) ** 2
            better = moved > best
            best, arg = np.where(better, moved, best), np.where(better, s, arg)
        back[t] = arg
        total = best + gain[:, order[t]]
    state = np.argmax(total, axis=1)
    path = np.zeros((len(order), nz), dtype=int)
    path[-1] = state
    for t in range(len(order) - 1, 0, -1):
        state = state - back[t, np.arange(nz), state]
        path[t - 1] = state
    radii = r[np.clip(path[n_angles : 2 * n_angles].T, 0, n - 1)].astype(float)
    radii[~np.isfinite(total.max(axis=1))] = np.nan
    return radii


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_path_is_that_of_one_shift_at_a_time(seed: int) -> None:
    rng = np.random.default_rng(seed)
    step = 0.1
    gain = np.round(rng.normal(size=(6, 24, 40)), 1)  # rounded: many ties between shifts
    gain[:, :, :4] = -np.inf  # inside the inner radius
    gain[2] = -np.inf  # a slice no path reaches
    gain[4, 5:9] = -np.inf  # rays no path crosses
    r = np.arange(40) * step
    got = boundary._closed_path(gain, r, step)
    np.testing.assert_array_equal(got, _one_shift_at_a_time(gain, r, step))
    assert np.isnan(got[2]).all() and np.isnan(got[4]).all() and np.isfinite(got[[0, 1, 3, 5]]).all()
