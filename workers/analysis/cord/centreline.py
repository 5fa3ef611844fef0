"""Where the cord is: canal score, cord/CSF polarity, mid-sagittal plane and a continuous centre line.

1. **Canal score.** The cord is a dark structure narrower than the canal, enclosed by fluid brighter than it:
   a black top-hat (closing by a disc wider than any cord, minus the image) averaged over the 2.5 mm core, in
   units of the volume's intensity range; weighted by how many rays from the candidate cross fluid and then
   the canal wall (:func:`enclosure`).
2. **Polarity.** CSF is brighter than cord on T2, T2*, steady-state and MT images and darker on T1. The score
   is computed on the image and on its negative; the polarity whose best continuous path scores higher wins.
3. **Mid-sagittal plane.** The cord lies in the body's plane of left-right symmetry. Per slice, the mirror
   axis is where the image best matches its own left-right mirror image; candidates farther than
   :data:`MIDLINE_REACH_MM` from it are dropped.
   Where CSF is bright (not T1), a candidate must also lie inside the canal: cord and CSF together are
   brighter than the bone and ligaments around them (:func:`canal_interior`); the candidates are ranked by the
   smaller of the two scores, so that a dark line behind the posterior CSF, or air, is not taken for the cord.
4. **Centre line.** Dynamic programming (Viterbi) over the per-slice candidate maxima picks the path that
   scores best with a penalty on the in-plane displacement per mm of z (less one pixel per axis, the
   localisation of a peak on the grid); the path is then smoothed.
5. **Same tissue on every slice.** With thick slices the displacement penalty is weak, and on some slices a
   structure beside the canal that is darker than the cord (ligament, bone, a vessel) can outscore it. The
   cord's own level is the median core intensity on the first path; candidates far darker than that
   (below :data:`DARKER_THAN_CORD` of it) are down-weighted and the path is tracked again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import ndimage

from workers.analysis.cord.window import within

CORE_RADIUS_MM = 2.5  # the smallest cord half-width (AP) in adults
THIN_MM = 1.5  # dark structures thinner than twice this are not cord
CLOSING_RADIUS_MM = 8.0  # wider than the widest cord half-width (RL, cervical enlargement)
CANAL_RADIUS_MM = 12.0  # wider than the widest canal half-width (cord and CSF)
MIDLINE_REACH_MM = 12.0  # how far the cord may lie from the mirror axis of the slice
_SMOOTH_SIGMA = 0.5  # pixels: the noise smoothing before the top-hats
N_CANDIDATES = 16  # a full field holds many dark structures enclosed by brighter tissue
STEP_PENALTY = 0.05  # score units per (mm of in-plane displacement per mm of z) squared
DARKER_THAN_CORD = 0.6  # a candidate's core below this fraction of the path's typical core is not cord
DARKER_WEIGHT = 0.1  # what such a candidate's score is multiplied by on the second pass


class Polarity(StrEnum):
    """Which is brighter: CSF (T2, T2*, steady-state, MT) or the cord (T1)."""

    CSF_BRIGHT = "csf_bright"
    CSF_DARK = "csf_dark"


def polarity_of(sequence: str | None) -> Polarity | None:
    """The polarity a series' sequence class implies (T1: CSF dark; T2, T2*, steady-state, MT, diffusion:
    CSF bright); None when the class says nothing and the polarity must be detected from the pixels."""
    if sequence is None:
        return None
    if sequence.upper() in ("T1", "T1W", "T1C"):
        return Polarity.CSF_DARK
    if sequence.upper() in ("T2", "T2STAR", "SSFP", "MT", "DWI", "DTI", "STIR"):
        return Polarity.CSF_BRIGHT
    return None


@dataclass(frozen=True)
class Centreline:
    """The tracked path: pixel centres (nz, 2) (y, x), the canal score on the path, the mirror axis (x), and
    the normalised image it was tracked on (:func:`normalised` with its polarity), which the boundary search
    reads instead of computing it again, and the intensity range it was normalised by (:func:`intensity_range`
    of the volume)."""

    path: np.ndarray
    scores: np.ndarray
    midline_x: np.ndarray
    polarity: Polarity
    image: np.ndarray | None = None
    scale: tuple[float, float] | None = None


def normalised(array: np.ndarray, polarity: Polarity, scale: tuple[float, float] | None = None) -> np.ndarray:
    """The volume scaled to 0..1 between its 0.5th and 99.5th percentiles (``scale``: those of ``array``,
    :func:`intensity_range`, when already known), CSF made bright."""
    lo, hi = intensity_range(array) if scale is None else scale
    out = np.clip((array.astype(np.float32) - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return out if polarity is Polarity.CSF_BRIGHT else 1.0 - out


_PERCENTILES = (0.5, 99.5)  # the intensity range of a volume
_TAIL_SAMPLE = 16  # every this many values estimate where the tails end


def intensity_range(array: np.ndarray) -> tuple[float, float]:
    """``np.percentile(array, [0.5, 99.5])`` as floats, to the bit, from the two tails of the values alone.

    numpy's linear percentile interpolates between the values of two ranks of the sorted array; the values of
    the lowest ranks are those of the values at or below a bound that many values reach (and the highest, at or
    above): a bound estimated from every :data:`_TAIL_SAMPLE`-th value, checked by counting, so that only a
    few percent of the values are partitioned instead of all of them (whole-array partitions were most of the
    normalisation's cost). The interpolation is numpy's (``_lerp``): the same operations on the same values.
    Anything unusual (few values, NaN, a bound that holds too few) is left to ``np.percentile``."""
    flat = array.ravel()
    n = flat.size
    if n < 64 * _TAIL_SAMPLE or flat.dtype.kind != "f" or np.isnan(flat).any():
        lo, hi = np.percentile(array, list(_PERCENTILES))
        return float(lo), float(hi)
    virtual = (n - 1) * np.true_divide(np.asarray(_PERCENTILES), 100)
    below = np.floor(virtual)
    gamma = virtual - below
    ranks = below.astype(np.intp)  # each interpolates between ranks r and r + 1 (both within 0..n-1 here)
    sample = flat[::_TAIL_SAMPLE]
    reach = 2 * int(np.ceil(ranks[0] / _TAIL_SAMPLE)) + 2  # twice the sample's share of the lower tail
    bounds = np.partition(sample, [reach, sample.size - 1 - reach])
    low_tail = flat[flat <= bounds[reach]]
    high_tail = flat[flat >= bounds[sample.size - 1 - reach]]
    first_high = n - high_tail.size  # the rank of the high tail's smallest value
    if low_tail.size < ranks[0] + 2 or first_high > ranks[1]:
        lo, hi = np.percentile(array, list(_PERCENTILES))
        return float(lo), float(hi)
    a = np.empty(2, dtype=flat.dtype)
    b = np.empty(2, dtype=flat.dtype)
    a[0], b[0] = np.partition(low_tail, [ranks[0], ranks[0] + 1])[[ranks[0], ranks[0] + 1]]
    r = ranks[1] - first_high
    a[1], b[1] = np.partition(high_tail, [r, r + 1])[[r, r + 1]]
    # numpy's _lerp: a + (b - a) t, or b - (b - a)(1 - t) from t = 0.5 on.
    diff = b - a
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe", dtype=out.dtype.type)
    return float(out[0]), float(out[1])


def _square(radius_mm: float, sy: float, sx: float) -> tuple[int, int]:
    """The size (rows, columns) of a square structuring element reaching ``radius_mm`` from its centre."""
    return 2 * int(np.ceil(radius_mm / sy)) + 1, 2 * int(np.ceil(radius_mm / sx)) + 1


def _core_kernel(sy: float, sx: float) -> np.ndarray:
    """The mean over a disc of :data:`CORE_RADIUS_MM` (the cord's core), as a correlation kernel."""
    cy, cx = int(np.ceil(CORE_RADIUS_MM / sy)), int(np.ceil(CORE_RADIUS_MM / sx))
    yy, xx = np.mgrid[-cy : cy + 1, -cx : cx + 1]
    core = (np.hypot(yy * sy, xx * sx) <= CORE_RADIUS_MM).astype(np.float32)
    return core / core.sum()


def canal_scores(image: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """Canal score of every pixel of a normalised (CSF bright) volume: the black top-hat (grey closing with a
    square wider than any cord, minus the image) averaged over the cord core. High inside a dark structure
    narrower than :data:`CLOSING_RADIUS_MM` and enclosed by brighter tissue; -inf near the borders."""
    return np.stack([_plane_scores(plane, spacing, slice(0, plane.shape[1])) for plane in _smoothed(image)])


def canal_interior(image: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    """How much brighter than the canal wall each pixel of a normalised (CSF bright) volume is: the white
    top-hat (the image minus its grey opening by a square wider than the canal) averaged over the cord core.
    Cord and CSF together fill the canal, brighter than the bone and ligaments around it: the cord scores
    its own level above the wall; a dark structure outside the canal (ligament, vessel, bone) scores ~0."""
    _, ny, nx = image.shape
    every = np.argwhere(np.ones((ny, nx), dtype=bool))
    return np.stack([_plane_interior(plane, spacing, every).reshape(ny, nx) for plane in _smoothed(image)])


def _smoothed(image: np.ndarray) -> np.ndarray:
    """The noise smoothing of every plane of ``image`` (each plane as on its own: nothing along z)."""
    return np.asarray(ndimage.gaussian_filter(image, (0.0, _SMOOTH_SIGMA, _SMOOTH_SIGMA)))


# Every filter below computes each pixel from its neighbours alone, in the same order wherever it lies: on the
# columns a result needs, widened by what each stage reads (and stopped at the plane's own edges, where the
# boundary modes apply), it gives those columns to the bit as on the whole plane, at a fraction of the cost.


def _widened(cols: slice, by: int, n: int) -> slice:
    """``cols`` and ``by`` columns either side, clipped to ``0..n``."""
    return slice(max(0, cols.start - by), min(n, cols.stop + by))


def _inside(cols: slice, outer: slice) -> slice:
    """``cols`` as columns of the part ``outer`` of a plane."""
    return slice(cols.start - outer.start, cols.stop - outer.start)


def _closing(img: np.ndarray, size: tuple[int, int], cols: slice, mode: str) -> np.ndarray:
    """``ndimage.grey_closing(img, size=size, mode=mode, cval=0)[:, cols]``: the dilation on the columns the
    erosion reads, the erosion on ``cols`` (each stage reads ``size[1] // 2`` columns either side)."""
    return _two_stage(img, size, cols, mode, np.maximum, np.minimum)


def _opening(img: np.ndarray, size: tuple[int, int], cols: slice, mode: str) -> np.ndarray:
    """``ndimage.grey_opening(img, size=size, mode=mode, cval=0)[:, cols]`` (see :func:`_closing`)."""
    return _two_stage(img, size, cols, mode, np.minimum, np.maximum)


def _two_stage(img: np.ndarray, size: tuple[int, int], cols: slice, mode: str, first: Any, then: Any) -> np.ndarray:
    half, n = size[1] // 2, img.shape[1]
    outer, middle = _widened(cols, 2 * half, n), _widened(cols, half, n)
    staged = _rectangle(img[:, outer], size, mode, first)[:, _inside(middle, outer)]
    return _rectangle(staged, size, mode, then)[:, _inside(cols, middle)]


#: scipy's boundary modes as numpy's padding modes (constant: 0).
_PADDING = {"constant": "constant", "reflect": "symmetric", "nearest": "edge"}


def _rectangle(img: np.ndarray, size: tuple[int, ...], mode: str, pick: Any) -> np.ndarray:
    """The maximum (``pick`` np.maximum) or minimum (np.minimum) over the centred rectangle of odd ``size``
    around each pixel, the image extended by ``mode``: ``ndimage.maximum_filter`` (``grey_dilation``) or
    ``minimum_filter`` (``grey_erosion``), the same values (a maximum is exact, whatever the order), one axis
    at a time, by windows doubling in width (a few whole-array steps instead of a loop over each line)."""
    out = img
    if img.size == 0:  # nothing to extend (no column within reach)
        return np.array(img)
    for axis, width in enumerate(size):
        if width % 2 == 0:
            raise ValueError(f"rectangle sizes must be odd, got {size}")
        out = _padded(out, axis, width // 2, mode)
        reached = 1
        while reached < width:
            step = min(reached, width - reached)
            n = out.shape[axis]
            head, tail = [slice(None)] * img.ndim, [slice(None)] * img.ndim
            head[axis], tail[axis] = slice(0, n - step), slice(step, n)
            out = pick(out[tuple(head)], out[tuple(tail)])
            reached += step
    return np.asarray(out)


def _padded(img: np.ndarray, axis: int, width: int, mode: str) -> np.ndarray:
    """``np.pad`` of ``img`` by ``width`` on both sides of ``axis`` in scipy's boundary ``mode`` (constant 0,
    reflect, nearest; see :data:`_PADDING`): the same values, copied by one concatenation (``np.pad``'s own
    bookkeeping cost more than the copy on the small planes here)."""
    n = img.shape[axis]
    if width == 0:
        return img
    if n < width or n == 0:  # reflected more than once: np.pad's own rules
        pad = [(0, 0)] * img.ndim
        pad[axis] = (width, width)
        return np.asarray(np.pad(img, pad, mode=_PADDING[mode]))  # type: ignore[call-overload]
    head, tail = [slice(None)] * img.ndim, [slice(None)] * img.ndim
    if mode == "constant":
        shape = list(img.shape)
        shape[axis] = width
        before = after = np.zeros(shape, dtype=img.dtype)
    elif mode == "reflect":  # the first and last ``width`` values, mirrored
        head[axis], tail[axis] = slice(0, width), slice(n - width, n)
        before, after = np.flip(img[tuple(head)], axis), np.flip(img[tuple(tail)], axis)
    elif mode == "nearest":
        head[axis], tail[axis] = slice(0, 1), slice(n - 1, n)
        reps = [1] * img.ndim
        reps[axis] = width
        before, after = np.tile(img[tuple(head)], reps), np.tile(img[tuple(tail)], reps)
    else:
        raise ValueError(f"unknown boundary mode {mode!r}")
    return np.concatenate([before, img, after], axis=axis)


@dataclass(frozen=True)
class _Core:
    """The core kernel (:func:`_core_kernel`) of a pixel spacing: its half sizes and its taps (row offset,
    column offset, weight) in the order ``ndimage.correlate`` sums them (row by row; weights above the
    float64 epsilon)."""

    rows: int
    cols: int
    taps: tuple[tuple[int, int, float], ...]


@functools.lru_cache(maxsize=16)
def _core(sy: float, sx: float) -> _Core:
    kernel = _core_kernel(sy, sx)
    cy, cx = kernel.shape[0] // 2, kernel.shape[1] // 2
    weights = kernel.astype(np.float64)
    keep = np.argwhere(np.abs(weights) > np.finfo(np.float64).eps)
    return _Core(cy, cx, tuple((int(i) - cy, int(j) - cx, float(weights[i, j])) for i, j in keep))


def _core_sums(values: np.ndarray, core: _Core, at: Any) -> np.ndarray:
    """``ndimage.correlate(values, kernel, mode="nearest")`` of a float32 plane (part) at ``at`` (a function
    of the edge-padded float64 plane and a tap's offsets giving the tap's values there), to the bit:
    each product is exact in float64 and they are summed from 0 in the kernel's order, then rounded to
    float32, as scipy does; only the pixels asked for are computed."""
    cy, cx = core.rows, core.cols
    padded = _padded(_padded(values.astype(np.float64), 0, cy, "nearest"), 1, cx, "nearest")
    products = {w: w * padded for w in {w for _, _, w in core.taps}}
    total = np.zeros_like(at(padded, 0, 0))
    for dy, dx, w in core.taps:
        total += at(products[w], cy + dy, cx + dx)
    return total.astype(np.float32)


def _plane_scores(smooth: np.ndarray, spacing: tuple[float, float, float], cols: slice) -> np.ndarray:
    """:func:`canal_scores` of the columns ``cols`` of one smoothed plane (every row)."""
    _, sy, sx = spacing
    wide = _square(CLOSING_RADIUS_MM, sy, sx)
    thin = _square(THIN_MM, sy, sx)
    core = _core(sy, sx)
    cy, cx = core.rows, core.cols
    ny, nx = smooth.shape
    read = _widened(cols, cx, nx)  # the columns the core mean reads
    # Square structuring elements (separable, fast). Outside the field is no fluid: mode constant 0.
    closed = _closing(smooth, wide, read, "constant")
    # Dark lines narrower than any cord (ligaments, vessels, noise) are closed first and do not count.
    solid = _closing(smooth, thin, read, "reflect")
    inner = _inside(cols, read)
    scores = _core_sums(closed - solid, core, lambda p, i, j: p[i : i + ny, inner.start + j : inner.stop + j])
    scores[:cy] = scores[-cy:] = -np.inf
    x = np.arange(cols.start, cols.stop)
    scores[:, (x < cx) | (x >= nx - cx)] = -np.inf
    return scores


def _plane_interior(smooth: np.ndarray, spacing: tuple[float, float, float], at: np.ndarray) -> np.ndarray:
    """:func:`canal_interior` of one smoothed plane at the pixels ``at`` (n, 2: row, column)."""
    _, sy, sx = spacing
    wide = _square(CANAL_RADIUS_MM, sy, sx)
    core = _core(sy, sx)
    if len(at) == 0:
        return np.zeros(0, dtype=np.float32)
    read = _widened(slice(int(at[:, 1].min()), int(at[:, 1].max()) + 1), core.cols, smooth.shape[1])
    tophat = smooth[:, read] - _opening(smooth, wide, read, "nearest")
    rows, cols = at[:, 0], at[:, 1] - read.start
    return _core_sums(tophat, core, lambda p, i, j: p[rows + i, cols + j])


#: Slices are filtered a few at a time, about this many pixels (the float64 passes stay in the cache).
_GRADIENT_CHUNK = 1 << 18


def gradient_magnitude(image: np.ndarray) -> np.ndarray:
    """``np.hypot(ndimage.sobel(image, axis=1), ndimage.sobel(image, axis=2))`` of a float32 volume, to the bit,
    a few slices at a time (about :data:`_GRADIENT_CHUNK` pixels, with one slice either side for the smoothing
    along z).

    scipy's sobel is three 1-D correlations, each in float64 and rounded to float32 (the input's type), with
    the ends reflected: the difference ``[-1, 0, 1]`` (the difference of two float32 values, rounded once:
    float32's own subtraction), then ``[1, 2, 1]`` along each other axis (``x * 2 + (left + right)`` in
    float64, rounded to float32). Here the same operations run in numpy on a few slices at a time, so that
    the float64 intermediates stay in the cache, and scipy itself smooths along the last axis, where its line
    buffers are cheap (along the first two axes they were most of the cost)."""
    if image.dtype != np.float32 or image.ndim != 3 or 0 in image.shape:
        return np.asarray(np.hypot(ndimage.sobel(image, axis=1), ndimage.sobel(image, axis=2)))
    nz, ny, nx = image.shape
    chunk = max(1, _GRADIENT_CHUNK // (ny * nx))
    out = np.empty(image.shape, dtype=np.float32)
    for k0 in range(0, nz, chunk):
        k1 = min(nz, k0 + chunk)
        # The chunk's slices and one either side, reflected at the volume's ends (scipy's "reflect": the end
        # slice again).
        ext = image[max(k0 - 1, 0) : min(k1 + 1, nz)]
        if k0 == 0:
            ext = np.concatenate([image[:1], ext])
        if k1 == nz:
            ext = np.concatenate([ext, image[-1:]])
        along_y = _smoothed_z(_differences(ext, 1))
        ndimage.correlate1d(along_y, [1, 2, 1], 2, along_y, "reflect")
        along_x = _smoothed_z(_differences(ext, 2))
        _smoothed_along(along_x.astype(np.float64), 1, along_x)
        np.hypot(along_y, along_x, out=out[k0:k1])
    return out


def _along(axis: int, start: int | None, stop: int | None) -> tuple[slice, ...]:
    return (slice(None),) * axis + (slice(start, stop),)


def _differences(x: np.ndarray, axis: int) -> np.ndarray:
    """``x[i + 1] - x[i - 1]`` along ``axis``, the ends reflected: scipy's ``correlate1d(x, [-1, 0, 1])``
    (``x[i] * 0 + (x[i - 1] - x[i + 1]) * -1`` in float64: the exact difference, rounded once to float32)."""
    n = x.shape[axis]
    out = np.empty_like(x)
    if n == 1:
        out[...] = 0.0
        return out
    np.subtract(x[_along(axis, 2, None)], x[_along(axis, None, -2)], out=out[_along(axis, 1, -1)])
    np.subtract(x[_along(axis, 1, 2)], x[_along(axis, 0, 1)], out=out[_along(axis, 0, 1)])
    np.subtract(x[_along(axis, n - 1, n)], x[_along(axis, n - 2, n - 1)], out=out[_along(axis, n - 1, n)])
    return out


def _smoothed_z(d32: np.ndarray) -> np.ndarray:
    """scipy's ``correlate1d(d, [1, 2, 1], axis=0)`` of the inner slices of a chunk extended by a slice either
    side: ``d * 2 + (before + after)`` in float64, rounded to float32."""
    d = d32.astype(np.float64)
    z = d[1:-1] * 2.0
    z += d[:-2] + d[2:]
    return z.astype(np.float32)


def _smoothed_along(e: np.ndarray, axis: int, out: np.ndarray) -> np.ndarray:
    """scipy's ``correlate1d(x, [1, 2, 1], axis)`` (ends reflected) of the float64 copy ``e`` of a float32
    array ``x``: ``e * 2 + (left + right)``, rounded into the float32 ``out``."""
    n = e.shape[axis]
    t = e * 2.0
    if n == 1:
        t += e + e
    else:
        t[_along(axis, 1, -1)] += e[_along(axis, None, -2)] + e[_along(axis, 2, None)]
        t[_along(axis, 0, 1)] += e[_along(axis, 0, 1)] + e[_along(axis, 1, 2)]
        t[_along(axis, n - 1, n)] += e[_along(axis, n - 2, n - 1)] + e[_along(axis, n - 1, n)]
    out[...] = t
    return out


def mirror_axis(image: np.ndarray) -> np.ndarray:
    """Per slice, the column (fractional) about which the slice best matches its left-right mirror image."""
    nz, _, nx = image.shape
    out = np.empty(nz)
    grad = gradient_magnitude(image)
    n_fft = 2 * nx
    shifts = np.concatenate([np.arange(0, nx), np.arange(-nx, 0)])
    # Overlap-normalised, so that the image centre is not favoured by the padding.
    overlap = nx - np.abs(shifts)
    valid = overlap >= nx // 2
    for k in range(nz):
        g = grad[k] - grad[k].mean()
        spectrum = np.fft.rfft(g, n_fft, axis=1) * np.conj(np.fft.rfft(g[:, ::-1], n_fft, axis=1))
        corr = np.fft.irfft(spectrum.sum(axis=0), n_fft)
        value = np.where(valid, corr / np.maximum(overlap, 1), -np.inf)
        s = int(shifts[int(np.argmax(value))])
        # corr[s] = sum_x g(x + s) g(nx - 1 - x): a mirror axis at c gives its peak at s = 2c - nx + 1.
        out[k] = (nx - 1 + s) / 2.0
    return np.asarray(ndimage.median_filter(out, size=min(nz, 5), mode="nearest"))


def _candidates(
    image: np.ndarray, spacing: tuple[float, float, float], polarity: Polarity, midline_x: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per slice of a normalised volume, up to :data:`N_CANDIDATES` local maxima of the canal score near the
    mirror axis, the best by rank first, and their ranks; and the canal score (-inf where not computed).

    Rank: the canal score, and where CSF is bright the smaller of it and the canal interior: a candidate must
    be darker than the fluid around it (black top-hat) and inside the canal, brighter than its wall (white
    top-hat at canal scale), so that a dark line outside the canal, or air, scores ~0. With CSF dark (T1) the
    cord is as bright as fat and marrow, so the canal is not brighter than its wall.
    Both are computed only in the columns within reach of the axis (and on the whole slice when no maximum
    lies there): the same candidates and ranks as from the whole slice, at a fraction of the cost."""
    _, _, sx = spacing
    reach = MIDLINE_REACH_MM / sx
    scores = np.full(image.shape, -np.inf, dtype=np.float32)
    cands, vals = [], []
    for k, plane in enumerate(_smoothed(image)):
        cols = within(float(midline_x[k]), reach, plane.shape[1])
        idx, s = _maxima(plane, spacing, cols)
        near = np.abs(idx[:, 1] - midline_x[k]) <= reach
        if not near.any():
            cols = slice(0, plane.shape[1])
            idx, s = _maxima(plane, spacing, cols)
            near = np.abs(idx[:, 1] - midline_x[k]) <= reach
        if near.any():
            idx = idx[near]
        scores[k][:, cols] = s
        v = s[idx[:, 0], idx[:, 1] - cols.start] if len(idx) else np.array([])
        if len(idx) and polarity is Polarity.CSF_BRIGHT:
            interior = _plane_interior(plane, spacing, idx)
            v = np.minimum(v, np.maximum(interior, 0.0))
        if len(idx) == 0:  # nothing finite in the slice: a dummy candidate at the centre
            idx = np.array([[plane.shape[0] // 2, plane.shape[1] // 2]])
            v = np.array([-1.0])
        order = np.argsort(-v)[:N_CANDIDATES]
        cands.append(idx[order].astype(float))
        vals.append(v[order].astype(float))
    return cands, vals, scores


def _maxima(plane: np.ndarray, spacing: tuple[float, float, float], cols: slice) -> tuple[np.ndarray, np.ndarray]:
    """The local maxima (row, column of the plane) of the canal score of a smoothed plane in ``cols``, and the
    score of ``cols``.
    A maximum in the two outermost columns of ``cols`` (but at the plane's edges) may be one only within
    ``cols``: its 5-pixel neighbourhood leaves them."""
    s = _plane_scores(plane, spacing, cols)
    idx = np.argwhere((s == _rectangle(s, (5, 5), "reflect", np.maximum)) & np.isfinite(s))
    return idx + [0, cols.start], s


def enclosure(
    image: np.ndarray, spacing: tuple[float, float, float], cands: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(enclosure, core level) per slice and candidate. Core level: the mean within 2 mm. Enclosure: for each
    candidate: the fraction of 24 rays on which the dark core gives way to fluid within 1-10 mm
    and the fluid gives way again to darker tissue (the canal wall) within 16 mm: a cord inside its canal
    scores near 1, a dark structure merely touching fluid on one side scores low."""
    _, sy, sx = spacing
    angles = np.arange(24) * 2 * np.pi / 24
    r = np.arange(0.0, 16.0 + 1e-9, 0.5)
    # The rays of each slice in its slice, then every candidate of every slice at once (each row alone: the
    # values of one slice at a time).
    rays = []
    for k, c in enumerate(cands):
        y = c[:, 0, None, None] + np.sin(angles)[None, :, None] * r[None, None, :] / sy
        x = c[:, 1, None, None] + np.cos(angles)[None, :, None] * r[None, None, :] / sx
        coords = np.stack([y, x]).reshape(2, -1)
        p = ndimage.map_coordinates(image[k], coords, order=1, mode="constant", cval=0.0)
        rays.append(p.reshape(len(c), len(angles), len(r)))
    p = np.concatenate(rays)
    core = p[:, :, r <= 2.0].mean(axis=(1, 2))
    ring = (r >= 3.0) & (r <= 10.0)
    fluid = np.percentile(p[:, :, ring].reshape(len(p), -1), 90, axis=1)
    half = (0.5 * (core + fluid))[:, None, None]
    bright = p > half
    reach = (r >= 1.0) & (r <= 10.0)
    rises = bright[:, :, reach].any(axis=2)
    first = np.where(rises, np.argmax(bright & reach, axis=2), len(r))
    later = np.arange(len(r))[None, None, :] > first[:, :, None]
    falls = (~bright & later).any(axis=2)
    enclosed = np.where(fluid > core, (rises & falls).mean(axis=1), 0.0)
    splits = np.cumsum([len(c) for c in cands])[:-1]
    return np.split(enclosed, splits), np.split(core, splits)


def _viterbi(cands: list[np.ndarray], vals: list[np.ndarray], spacing: tuple[float, float, float]) -> np.ndarray:
    sz, sy, sx = spacing
    total = vals[0].copy()
    back: list[np.ndarray] = []
    for k in range(1, len(cands)):
        # A peak on the pixel grid is placed to within a pixel (any pixel of a plateau): one pixel per axis is
        # free, so that a cord spanning a few thick-slice columns is not charged for its peak's jitter.
        moved = np.maximum(np.abs(cands[k][:, None, :] - cands[k - 1][None, :, :]) - 1.0, 0.0)
        d2 = ((moved * [sy, sx]) ** 2).sum(-1) / (sz * sz)
        trans = total[None, :] - STEP_PENALTY * d2
        best = np.argmax(trans, axis=1)
        back.append(best)
        total = vals[k] + trans[np.arange(len(best)), best]
    path = [int(np.argmax(total))]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    path.reverse()
    return np.array([cands[k][i] for k, i in enumerate(path)])


def _track(
    image: np.ndarray, spacing: tuple[float, float, float], polarity: Polarity, scale: tuple[float, float]
) -> Centreline:
    norm = normalised(image, polarity, scale)
    midline = mirror_axis(norm)
    cands, vals, scores = _candidates(norm, spacing, polarity, midline)
    closed, cores = enclosure(norm, spacing, cands)
    vals = [v * e for v, e in zip(vals, closed, strict=True)]
    path = _viterbi(cands, vals, spacing)
    if len(cands) >= 3:
        chosen = [int(np.argmin(np.abs(c - p).sum(axis=1))) for c, p in zip(cands, path, strict=True)]
        typical = float(np.median([core[i] for core, i in zip(cores, chosen, strict=True)]))
        weights = [np.where(core < DARKER_THAN_CORD * typical, DARKER_WEIGHT, 1.0) for core in cores]
        vals = [np.where(v > 0, v * w, v) for v, w in zip(vals, weights, strict=True)]
        path = _viterbi(cands, vals, spacing)
    # The path runs through candidates, whose scores were computed.
    on_path = np.array([scores[k, int(p[0]), int(p[1])] for k, p in enumerate(path)])
    return Centreline(path, on_path, midline, polarity, norm, scale)


def track_centreline(
    image: np.ndarray, spacing: tuple[float, float, float], polarity: Polarity | None = None
) -> Centreline:
    """The cord's centre line in ``image`` (z, y, x); with ``polarity`` None, the polarity is detected."""
    scale = intensity_range(image)
    if polarity is not None:
        return _track(image, spacing, polarity, scale)
    tracks = [_track(image, spacing, p, scale) for p in Polarity]
    return max(tracks, key=lambda t: float(np.median(t.scores)))


def smooth_line(centres: np.ndarray, sigma_mm: float, sz: float) -> np.ndarray:
    """Gaussian smoothing of a (nz, 2) centre line along z (sigma in mm of z)."""
    sigma = max(sigma_mm / sz, 0.5)
    return np.stack([ndimage.gaussian_filter1d(centres[:, i], sigma, mode="nearest") for i in (0, 1)], 1)
