"""The epidural-fluid pattern on rays: bright (CSF), dark (dura), bright again for 1.5 mm within 6 mm of the dura."""

from __future__ import annotations

import numpy as np

from workers.analysis.canal import _rays_with_second_fluid


def _ray(*runs: tuple[float, int]) -> np.ndarray:
    """A ray of 0.2 mm samples: (value, samples) runs, padded with tissue (0.6) to 80 samples."""
    values = np.concatenate([np.full(n, v) for v, n in runs])
    return np.concatenate([values, np.full(80 - len(values), 0.6)])


def test_a_second_fluid_layer_is_seen_only_as_bright_dark_bright_long_and_near_enough() -> None:
    rays = np.stack(
        [
            _ray((1.0, 10), (0.4, 3), (1.0, 8)),  # 1.6 mm of fluid right behind the dura: seen
            _ray((1.0, 10), (0.4, 3), (1.0, 7)),  # 1.4 mm: too thin
            _ray((1.0, 10), (0.4, 3), (0.6, 17), (1.0, 10)),  # 1.6 mm of it ends 6 mm after the dura began
            _ray((1.0, 10), (0.4, 3), (0.6, 20), (1.0, 10)),  # 1.4 mm of it within those 6 mm: too late
            _ray((1.0, 10), (0.6, 3), (1.0, 10)),  # no dark line between (0.6 is not below 0.55)
            _ray((0.6, 10), (0.4, 3), (1.0, 10)),  # no fluid before the dark line
            _ray((0.4, 5), (1.0, 10), (0.5, 2), (1.0, 8)),  # dark before the first fluid does not count
        ]
    )
    seen = _rays_with_second_fluid(rays, 0.2).tolist()
    assert seen == [True, False, True, False, False, False, True]
