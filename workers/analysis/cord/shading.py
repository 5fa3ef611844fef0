"""Coil shading: a steady trend of the cord's own level from one side of its outline to the other, in units of
the cord-to-fluid contrast (:func:`side_to_side_shading`).
"""

from __future__ import annotations

import numpy as np

#: Uneven coil sensitivity shades the image smoothly across the field; the outline reads one cord level and one
#: fluid level per slice, so where the shading changes the cord's own level from one side of the cord to the other
#: by a large share of the cord-to-fluid contrast, the cord's bright side reads as fluid or the fluid's dim side as
#: cord, and the outline stops inside the cord (the shared T2* with a +-50 % ramp across its 27 mm field: the
#: outline on two thirds of the cord, 63 against 83 mm2). The cord is mirror-symmetric side to side, so a trend
#: of its level from side to side is not its anatomy: per slice, a plane fitted to the outline's pixels, its
#: side-to-side slope times the outline's width, in units of the slice's cord-to-fluid contrast (the median over
#: the slices). Real anatomy, unperturbed, gives at most 0.10 on the 13 volumes of ``benchmarks/accuracy_cord.py``
#: (README); the limit is twice that, as for the ghost.
MAX_SHADING = 0.2


def side_to_side_shading(plane: np.ndarray, inside: np.ndarray, contrast: float) -> float:
    """How much the level of the outline ``inside`` changes from its one side to the other (the side-to-side
    slope of a plane fitted to its pixels, times its width), over ``contrast``; NaN for fewer than 3 pixels."""
    yy, xx = np.nonzero(inside)
    if yy.size < 3 or contrast <= 0.0:
        return float("nan")
    design = np.stack([np.ones(yy.size), yy - yy.mean(), xx - xx.mean()], axis=1)
    coef, *_ = np.linalg.lstsq(design, plane[inside].astype(float), rcond=None)
    return float(abs(coef[2]) * (np.ptp(xx) + 1) / contrast)
