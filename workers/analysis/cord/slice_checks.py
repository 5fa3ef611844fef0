"""The slice-by-slice checks of the cord QC that leave a slice out: an outline far darker than the series' own
cord (on a ligament, bone or a vessel beside the canal), and partial volume (the cord's course carrying it
sideways by more than its radius within one slice's thickness). See :mod:`workers.analysis.cord.qc`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from workers.analysis.cord.morphometry import SliceMorphometry
from workers.analysis.cord.segmentation import CordSegmentation

DARKER_THAN_CORD = 0.6  # a slice whose outline is below this fraction of its neighbours' median level
NEIGHBOURS_MM = 30.0  # the cord's intensity drifts along z (coil sensitivity): compare with slices this near
#: Partial volume: a slice averages the cord over its thickness. Where the cord's course carries its centre
#: further than its own radius (that of the series' median area) within one slice, the slice holds cord and
#: fluid side by side across most of the outline, and the outline's area is not the cord's.
MAX_SMEAR_RADII = 1.0


def darker_slices(seg: CordSegmentation, image: np.ndarray) -> tuple[int, ...]:
    """Found slices whose outline (median intensity) is below :data:`DARKER_THAN_CORD` times the median of
    the outlines of the found slices within :data:`NEIGHBOURS_MM` along z: outlines on a darker structure."""
    sz = seg.view.spacing[0]
    levels = {int(k): float(np.median(image[k][seg.mask[k]])) for k in np.nonzero(seg.found)[0] if seg.mask[k].any()}
    if len(levels) < 3:  # no series' cord to compare with
        return ()
    ks = np.array(list(levels))
    values = np.array(list(levels.values()))
    out = []
    for k, v in levels.items():
        near = np.abs(ks - k) * sz <= max(NEIGHBOURS_MM, 2.5 * sz)
        typical = float(np.median(values[near])) if near.sum() >= 3 else float(np.median(values))
        if v < DARKER_THAN_CORD * typical:
            out.append(k)
    return tuple(out)


def smeared_slices(seg: CordSegmentation, slices: Sequence[SliceMorphometry]) -> tuple[int, ...]:
    """Found slices across whose thickness (the slice spacing) the outline's centre moves, at the slope of the
    cord's course there, by more than :data:`MAX_SMEAR_RADII` times the cord's radius: partial volume.

    The slope at a slice is the smaller of those to the outlines before and after it: a cord running obliquely
    through the slice moves on both sides, while an outline off the course moves its own slice, not its
    neighbours. The first and last slices have one side only, which cannot tell the two apart: not judged."""
    sz, sy, sx = seg.view.spacing
    ks = [s.slice_index for s in slices if seg.mask[s.slice_index].any()]
    if len(ks) < 3:  # no slice with a course on both sides
        return ()
    centres = np.array([ndimage.center_of_mass(seg.mask[k]) for k in ks]) * [sy, sx]
    slopes = np.hypot(*np.diff(centres, axis=0).T) / (np.diff(ks) * sz)  # in-plane mm per mm of z
    at_slice = np.minimum(slopes[:-1], slopes[1:])  # slices ks[1:-1]
    radius = float(np.sqrt(np.median([s.csa_mm2 for s in slices]) / np.pi))
    return tuple(k for k, slope in zip(ks[1:-1], at_slice, strict=True) if slope * sz > MAX_SMEAR_RADII * radius)
