"""The height of the rise a ray's sample lies on (the boundary's slope is read in its units): the step's own
height within the edge's ramp of it, the floor on a flat stretch and on a rise of the noise's size, never more
than the slice's cord-to-fluid contrast."""

from __future__ import annotations

import numpy as np

from workers.analysis.cord import boundary


def test_local_rise_is_the_height_of_the_step_near_it() -> None:
    step = 0.1
    r = np.arange(0.0, 12.0, step)
    contrast = np.array([0.5, 0.5, 0.5])
    # Three rays from a cord at 0.5: a full rise to fluid at 1.0, a thin layer reaching 0.7, a 0.02 ripple.
    prof = np.full((3, 1, len(r)), 0.5)
    prof[0, 0, r >= 5.0] = 1.0
    prof[1, 0, (r >= 5.0) & (r < 5.5)] = 0.7
    prof[1, 0, r >= 5.5] = 0.1
    prof[2, 0, r >= 5.0] = 0.52
    rise = boundary._local_rise(prof, contrast, step)[:, 0]
    near = (r > 4.0) & (r < 5.0)  # within the edge's ramp inside the step
    far = r < 5.0 - boundary.EDGE_MM - step
    np.testing.assert_allclose(rise[0, near], 0.5)
    np.testing.assert_allclose(rise[1, near], 0.2)
    np.testing.assert_allclose(rise[2, near], boundary.RISE_FLOOR * 0.5)
    np.testing.assert_allclose(rise[:, far], boundary.RISE_FLOOR * 0.5)
    # A rise larger than the slice's contrast counts as one contrast.
    np.testing.assert_allclose(boundary._local_rise(prof, contrast / 2, step)[0, 0, near], 0.25)
