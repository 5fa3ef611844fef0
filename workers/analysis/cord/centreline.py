"""Where the cord is: canal score, cord/CSF polarity, mid-sagittal plane and a continuous centre line.

1. **Canal score.** The cord is a dark structure narrower than the canal, enclosed by fluid brighter than it:
   a black top-hat (closing by a disc wider than any cord, minus the image) averaged over the 2.5 mm core, in
   units of the volume's intensity range (:mod:`workers.analysis.cord.canal_score`); weighted by how many rays
   from the candidate cross fluid and then the canal wall (:func:`enclosure`).
2. **Polarity.** CSF is brighter than cord on T2, T2*, steady-state and MT images and darker on T1. The score
   is computed on the image and on its negative; the polarity whose best continuous path scores higher wins.
3. **Mid-sagittal plane.** The cord lies in the body's plane of left-right symmetry. Per slice, the mirror
   axis is where the image best matches its own left-right mirror image; candidates farther than
   :data:`MIDLINE_REACH_MM` from it are dropped.
   Where CSF is bright (not T1), a candidate must also lie inside the canal: cord and CSF together are
   brighter than the bone and ligaments around them
   (:func:`~workers.analysis.cord.canal_score.canal_interior`); the candidates are ranked by the smaller of
   the two scores, so that a dark line behind the posterior CSF, or air, is not taken for the cord.
4. **Centre line.** Dynamic programming (Viterbi) over the per-slice candidate maxima picks the path that
   scores best with a penalty on the in-plane displacement per mm of z (less one pixel per axis, the
   localisation of a peak on the grid); the path is then smoothed.
5. **Same tissue on every slice.** With thick slices the displacement penalty is weak, and on some slices a
   structure beside the canal that is darker than the cord (ligament, bone, a vessel) can outscore it. The
   cord's own level is the median core intensity on the first path; candidates far darker than that
   (below :data:`DARKER_THAN_CORD` of it) are down-weighted and the path is tracked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy import ndimage

from workers.analysis.cord.canal_score import plane_interior, plane_scores, smoothed
from workers.analysis.cord.gradient import gradient_magnitude
from workers.analysis.cord.grey_filters import rectangle
from workers.analysis.cord.window import within

MIDLINE_REACH_MM = 12.0  # how far the cord may lie from the mirror axis of the slice
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
    for k, plane in enumerate(smoothed(image)):
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
            interior = plane_interior(plane, spacing, idx)
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
    s = plane_scores(plane, spacing, cols)
    idx = np.argwhere((s == rectangle(s, (5, 5), "reflect", np.maximum)) & np.isfinite(s))
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
