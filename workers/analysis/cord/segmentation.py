"""Classical spinal cord segmentation across contrasts (T2, T2*, steady-state, MT, T1), no per-subject constants.

The method follows the idea of Spinal Cord Toolbox's PropSeg (De Leener et al., NeuroImage 2014) in a
simpler, fully deterministic form:

1. **Canal and centre line** (:mod:`workers.analysis.cord.centreline`): a "dark core wholly inside brighter
   fluid" score, the cord/CSF polarity detected from the data, the body's mid-sagittal plane as a prior, and
   dynamic programming across slices for the most continuous path, then smoothed.
2. **Boundary** (:mod:`workers.analysis.cord.boundary`): on rays every 360/N degrees from the centre, one
   closed smooth path through the polar image that follows the cord-to-fluid rise around the whole outline
   (dynamic programming over the angles), so that a ray without fluid (cord touching the canal wall)
   follows its neighbours instead of the next edge outside the cord. Where CSF is bright, cord-level pixels
   left between the outline and the fluid cost as much as fluid inside it, so that an edge inside the cord
   (grey matter brighter than white matter) does not stop the outline. Not with CSF dark (T1): there bone,
   ligament and air are as dark as CSF, and what lies beyond them is not the cord's fluid.
3. **Tube regularisation.** Radii are median-filtered across angles and slices. The centre is re-estimated
   from the contour and the boundary search repeated.

Output is a contour per slice (radius per angle), a binary mask on the view grid and the centre line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.boundary import R_MAX_MM, R_STEP_MM, polar_contour, profiles, rasterise, regularise
from workers.analysis.cord.centreline import Polarity, normalised, smooth_line, track_centreline

N_ANGLES = 72
MIN_CONTRAST = 0.08  # the cord must be this much darker than its fluid ring (fraction of the intensity range)


@dataclass(frozen=True)
class CordSegmentation:
    """Cord contours on an :class:`AxialView`: per slice a centre (pixel y, x) and radii (mm) per angle."""

    view: AxialView
    centres: np.ndarray  # (nz, 2) pixel coordinates (y, x); NaN where the cord was not found
    radii: np.ndarray  # (nz, N_ANGLES) mm
    found: np.ndarray  # (nz,) bool
    mask: np.ndarray  # (nz, ny, nx) bool, on the view grid
    polarity: Polarity = Polarity.CSF_BRIGHT
    path_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (nz,) canal score on the path
    ray_fraction: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (nz,) rays that met fluid
    raw_path: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (nz, 2) unsmoothed path
    midline_x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (nz,) mirror axis (x) of each slice
    #: the 0.5th and 99.5th percentiles of the view's values, which :func:`normalised` scaled it by
    intensity_range: tuple[float, float] | None = None

    @property
    def angles(self) -> np.ndarray:
        return np.asarray(np.arange(self.radii.shape[1]) * 2 * np.pi / self.radii.shape[1])


def segment_cord(
    view: AxialView,
    *,
    n_angles: int = N_ANGLES,
    min_contrast: float = MIN_CONTRAST,
    polarity: Polarity | None = Polarity.CSF_BRIGHT,
) -> CordSegmentation:
    """Segment the cord in every slice of ``view``.

    ``polarity``: CSF brighter than cord (T2, T2*, steady-state, MT; the default) or darker (T1); None detects
    it from the pixels (both are tried; the one giving a cord of human size on more slices wins).
    Slices where the canal score on the centre line is below ``min_contrast`` (fraction of the intensity
    range) are marked not found.
    """
    if view.array.ndim != 3 or min(view.array.shape) < 1:
        raise ValueError(f"view.array must be a non-empty 3-D array, got shape {view.array.shape}")
    if n_angles < 16:
        raise ValueError(f"n_angles must be >= 16, got {n_angles}")
    if polarity is not None:
        return _segment(view, n_angles, min_contrast, polarity)
    # CSF brighter or darker than cord: segment both ways, keep the one that gives a cord of human size.
    both = [_segment(view, n_angles, min_contrast, p) for p in Polarity]
    return max(both, key=_plausibility)


def _plausibility(seg: CordSegmentation) -> tuple[float, float]:
    """(fraction of found slices whose contour area is in the physiological range, mean canal score)."""
    if not seg.found.any():
        return (0.0, -1.0)
    _, sy, sx = seg.view.spacing
    area = seg.mask[seg.found].sum(axis=(1, 2)) * sy * sx
    low, high = csa_range_mm2()
    in_range = float(np.mean((area >= low) & (area <= high))) * float(np.mean(seg.found))
    return (round(in_range, 1), float(np.mean(seg.path_scores[seg.found] * seg.ray_fraction[seg.found])))


def csa_range_mm2() -> tuple[float, float]:
    """The physiological range of cord area above the conus (C1-T12): the lowest and highest normative mean
    (PAM50, spine-generic) widened by three typical standard deviations."""
    from workers.analysis.cord.morphometry import load_normative  # morphometry imports this module

    norms = [v for k, v in load_normative().items() if k[0] in "CT"]
    sd = float(np.median([v.area_sd for v in norms]))
    return (min(v.area_mean for v in norms) - 3 * sd, max(v.area_mean for v in norms) + 3 * sd)


def _segment(view: AxialView, n_angles: int, min_contrast: float, polarity: Polarity) -> CordSegmentation:
    sz, sy, sx = view.spacing
    line = track_centreline(view.array, view.spacing, polarity)
    image = line.image if line.image is not None else normalised(view.array, line.polarity, line.scale)
    found = line.scores >= min_contrast
    centres = smooth_line(line.path, sigma_mm=4.0, sz=sz)
    angles = np.arange(n_angles) * 2 * np.pi / n_angles
    step = max(R_STEP_MM, min(sy, sx) / 5.0)  # sub-pixel sampling of the rays; the boundary is refined further
    r = np.arange(0.0, R_MAX_MM + 1e-9, step)
    radii = np.full((len(centres), n_angles), np.nan)
    fluid_rays = np.zeros(len(centres))
    for iteration in range(3):
        contour, fluid_rays = polar_contour(
            profiles(image, view.spacing, centres, angles, r),
            r,
            min(sy, sx),
            cord_left_out=line.polarity is Polarity.CSF_BRIGHT,
        )
        radii = regularise(contour)
        if iteration == 2:
            break
        ok = np.isfinite(radii).all(axis=1)
        # Re-centre on the contour's centroid (in pixel units), then smooth the centre line again.
        dy = (radii * np.sin(angles)).mean(axis=1) / sy
        dx = (radii * np.cos(angles)).mean(axis=1) / sx
        shift = np.stack([np.where(ok, dy, 0.0), np.where(ok, dx, 0.0)], 1)
        centres = smooth_line(centres + shift, sigma_mm=2.0, sz=sz)
    found &= np.isfinite(radii).all(axis=1)
    found |= _gap_slices_with_a_cord(image, view.spacing, centres, radii, found, min_contrast)
    mask = rasterise(view.array.shape, view.spacing, centres, radii, found)
    centres = np.where(found[:, None], centres, np.nan)
    return CordSegmentation(
        view=view,
        centres=centres,
        radii=radii,
        found=found,
        mask=mask,
        polarity=line.polarity,
        path_scores=line.scores,
        ray_fraction=fluid_rays,
        raw_path=line.path,
        midline_x=line.midline_x,
        intensity_range=line.scale,
    )


def _gap_slices_with_a_cord(
    image: np.ndarray,
    spacing: tuple[float, float, float],
    centres: np.ndarray,
    radii: np.ndarray,
    found: np.ndarray,
    min_contrast: float,
) -> np.ndarray:
    """Slices between two found slices whose canal score was too low (the cord touching the canal wall on
    one side, so that no fluid lies beyond it there) but whose contour is still darker, by ``min_contrast``,
    than the fluid within 2 mm outside it: the cord is there. Slices outside the found run are never added."""
    _, sy, sx = spacing
    idx = np.nonzero(found)[0]
    out = np.zeros_like(found)
    if idx.size < 2:
        return out
    gaps = np.array([k for k in range(idx[0] + 1, idx[-1]) if not found[k] and np.isfinite(radii[k]).all()], int)
    if gaps.size == 0:
        return out
    take = np.zeros_like(found)
    take[gaps] = True
    masks = rasterise(image.shape, spacing, centres, radii, take)
    ring_px = max(1, int(round(2.0 / min(sy, sx))))
    for k in gaps:
        inside = masks[k]
        ring = ndimage.binary_dilation(inside, iterations=ring_px) & ~inside
        if inside.any() and ring.any():
            out[k] = float(np.percentile(image[k][ring], 75)) - float(np.median(image[k][inside])) >= min_contrast
    return out
