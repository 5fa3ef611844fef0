"""Motion ghosts: a faint copy of the image over itself, shifted along an in-plane axis and wrapped round the
field (periodic motion during the acquisition), found from the circular autocorrelation of each slice's detail,
and how much of that copy's detail lies over the cord's outline (:func:`ghosting`, :func:`ghost_over_cord`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from scipy import ndimage

#: A motion ghost (periodic motion during the acquisition: breathing, swallowing, pulsation) lays a faint copy of
#: the image over itself, shifted along the phase-encoding axis and wrapped round the field; an outline then sits
#: on the sum of the cord and a copy of whatever lies that far away, and on the shared T2* with a copy at 30 %
#: it lay half on the cord. A copy at a fraction g of the image's brightness gives the image's detail (the image
#: less its blur over :data:`GHOST_BLUR_MM`) a circular autocorrelation of about 2g / (1 + g**2) at the ghost's
#: shift; real anatomy, unperturbed, gives at most 0.09 at any shift beyond :data:`GHOST_MIN_SHIFT_MM` on the 13
#: volumes of ``benchmarks/accuracy_cord.py`` (README). This limit is that of a copy at a tenth of the image,
#: twice the highest measured on real anatomy.
MAX_GHOST_CORRELATION = 0.2
#: A ghost harms the outline only where it lays detail over the cord: a copy of the muscle beside the neck over
#: the cord adds little, a copy of the canal's edges 13 mm away adds edges the outline can take for the cord's.
#: The share: the amplitude of the ghost's detail within 2 mm of the outline against the cord's own there (from
#: the detail over the outline and over the place the ghost comes from, and the ghost's brightness g). Above a
#: tenth (the amplitude a ghost at a tenth of the image gives to the cord's own edges), with the ghost found at
#: all (above), the series is unreliable.
MAX_GHOST_SHARE = 0.1
GHOST_MIN_SHIFT_MM = 10.0  # shorter shifts correlate through the cord's own width (8-15 mm): not a ghost
GHOST_BLUR_MM = 3.0  # the detail a ghost copies is the image less its blur over this scale (edges, not shading)


def ghosting(
    image: np.ndarray,
    spacing: tuple[float, float, float],
    ks: np.ndarray,
    details: Mapping[int, np.ndarray] | None = None,
) -> tuple[float, float, str]:
    """(correlation, shift mm, axis) of the strongest copy of the image over itself along either in-plane axis:
    per slice of ``ks``, the circular autocorrelation of the slice's detail (the slice less its Gaussian blur
    over :data:`GHOST_BLUR_MM`, each line less its mean) along the axis, summed over the lines, normalised by
    its value at no shift; its peak beyond :data:`GHOST_MIN_SHIFT_MM`, the median over the slices, the larger
    of the two axes. ``details``: each slice's detail, when already computed (:func:`slice_details`)."""
    _, sy, sx = spacing
    if details is None:
        details = slice_details(image, spacing, ks)
    best = (0.0, 0.0, "")
    for axis, pixel, way in ((0, sy, "front to back"), (1, sx, "side to side")):
        n = image.shape[1 + axis]
        shift = np.arange(n)
        shift_mm = np.minimum(shift, n - shift) * pixel
        far = shift_mm >= GHOST_MIN_SHIFT_MM
        if not far.any() or len(ks) == 0:
            continue
        curves = []
        for k in ks:
            detail = details[int(k)]
            detail = detail - detail.mean(axis=axis, keepdims=True)
            spectrum = np.fft.fft(detail, axis=axis)
            auto = np.real(np.fft.ifft(spectrum * np.conj(spectrum), axis=axis)).sum(axis=1 - axis)
            curves.append(auto / max(float(auto[0]), 1e-12))
        curve = np.median(np.array(curves), axis=0)
        peak = int(np.argmax(np.where(far, curve, -np.inf)))
        if curve[peak] > best[0]:
            best = (float(curve[peak]), float(shift_mm[peak]), way)
    return best


def _detail(plane: np.ndarray, sy: float, sx: float) -> np.ndarray:
    return np.asarray(plane - ndimage.gaussian_filter(plane, GHOST_BLUR_MM / np.array([sy, sx])))


def slice_details(image: np.ndarray, spacing: tuple[float, float, float], ks: Iterable[int]) -> dict[int, np.ndarray]:
    """The detail of each slice of ``ks`` (the slice less its Gaussian blur over :data:`GHOST_BLUR_MM`), once:
    both ghost checks look at it."""
    _, sy, sx = spacing
    return {int(k): _detail(image[k].astype(float), sy, sx) for k in ks}


def ghost_over_cord(
    image: np.ndarray,
    spacing: tuple[float, float, float],
    mask: np.ndarray,
    ks: np.ndarray,
    correlation: float,
    shift_mm: float,
    way: str,
    details: Mapping[int, np.ndarray] | None = None,
) -> float:
    """The amplitude of the ghost's detail within 2 mm of the outline against the cord's own there (the median
    over the slices ``ks``), for a ghost of autocorrelation ``correlation`` at ``shift_mm`` along ``way``.

    The detail's energy over the outline's neighbourhood is ``own + g**2 copied`` and over the same pixels
    ``shift_mm`` away (where the copy comes from; the larger of the two directions) ``copied + g**2 own``
    (exact for a ghost at half the field, whose copy of the copy lands back on the cord): two equations for
    ``own`` and ``copied``; the share is ``g * sqrt(copied / own)``."""
    if correlation <= 0.0 or not way:
        return 0.0
    _, sy, sx = spacing
    g = (1.0 - np.sqrt(max(1.0 - correlation**2, 0.0))) / correlation
    axis, pixel = (0, sy) if way == "front to back" else (1, sx)
    s = int(round(shift_mm / pixel))
    ring = max(1, int(round(2.0 / min(sy, sx))))
    shares = []
    for k in ks:
        if not mask[k].any():
            continue
        window = ndimage.binary_dilation(mask[k], iterations=ring)
        detail = details[int(k)] if details is not None else _detail(image[k].astype(float), sy, sx)
        here = float(np.sum(detail[window] ** 2))
        there = max(float(np.sum(np.roll(detail, shift, axis=axis)[window] ** 2)) for shift in (-s, s))
        own = (here - g**2 * there) / (1 - g**4)
        copied = (there - g**2 * here) / (1 - g**4)
        shares.append(g * np.sqrt(max(copied, 0.0) / max(own, 1e-12)))
    return float(np.median(shares)) if shares else 0.0
