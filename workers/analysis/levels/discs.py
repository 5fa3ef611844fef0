"""Intervertebral discs along the canal of a sagittal series, and the vertebral bodies between them.

1. **Band.** The mid-sagittal slab is sampled along the canal line (:mod:`.canal`), on lines perpendicular
   to it: the straightened image. The front wall of the canal is where the mean signal across the field
   falls to half way between the canal and the bone in front of it; the band runs from 2 to 16 mm in
   front of that wall, through the vertebral bodies.
2. **Disc signal.** The band's median signal at each arc position, minus its 21 mm moving average: a disc
   (bright or dark nucleus, dark endplates) departs from the marrow on both sides of it. Its square,
   smoothed over 2 mm, is the disc signal; its peaks are disc candidates.
3. **Chain.** Discs alternate with bodies at a nearly even pitch. Dynamic programming keeps the chain of
   candidates (8-40 mm apart) that maximises their signal minus a penalty on every change of pitch
   (squared log ratio of neighbouring spacings): a marrow spot between two discs makes two short spacings
   and is dropped.
4. **Bodies.** Between neighbouring discs (a quarter of the pitch taken for the disc). Above the first
   disc and below the last, the bone runs on while the band looks like the marrow of the bodies; it is
   *complete* when signal unlike marrow is seen beyond it inside the field (the tip of the dens, the end of
   the sacrum), *cut* when it reaches the edge of the field.

Positions are arc lengths along the canal (mm from its top); heights are reported in patient z of the
canal point at that arc length, the height at which the disc plane crosses the canal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workers.analysis.levels.sagittal_canal import SagittalCanal, sample, voxels
from workers.analysis.volume import Volume

BAND_FROM_WALL_MM = (2.0, 16.0)
WALL_SEARCH_MM = (2.0, 20.0)
DETREND_MM = 21
SMOOTH_MM = 2.0
SPACING_MM = (11.0, 45.0)
PITCH_SIGMA = 0.25
MISSED_COST = 1.0  # a disc inferred between two found twice the pitch apart
DISC_FRACTION = 0.25
MARROW_DEVIATION = 0.35
NOT_MARROW_MM = 4.0
EDGE_MM = 3


@dataclass(frozen=True)
class DiscChain:
    """Discs found along the canal (arc mm from its top), the bone above the first and below the last."""

    discs: tuple[float, ...]
    top_bone: tuple[float, float]  # (arc of its top, arc of its bottom)
    bottom_bone: tuple[float, float]
    top_complete: bool
    bottom_complete: bool
    length: float  # arc length of the canal followed
    field_top: float = 0.0  # arc of the first position with signal in the band (the top edge of the field)
    # (signal within EDGE_MM of it is the edge's own step: no disc is looked for there)
    # The strongest disc-like signal in the bone above the first disc, over the typical disc of the chain:
    # well below 1 when no disc was missed there.
    signal_above: float = float("inf")

    def bodies(self) -> list[tuple[float, float]]:
        """(arc top, arc bottom) of each bone, top to bottom: the top bone, bodies between discs, the bottom."""
        if not self.discs:
            return []
        pitch = float(np.median(np.diff(self.discs))) if len(self.discs) > 1 else 20.0
        half = 0.5 * DISC_FRACTION * pitch
        inner = [(a + half, b - half) for a, b in zip(self.discs, self.discs[1:], strict=False)]
        return [self.top_bone, *inner, self.bottom_bone]


def straightened(volume: Volume, canal: SagittalCanal, offsets: np.ndarray) -> np.ndarray:
    """(arc, offset) image: a 3 mm slab around the mid-sagittal plane, offsets in mm to the front."""
    array = voxels(volume)
    step = float(np.median(np.abs(np.diff(volume.positions[:, 0])))) if len(volume.positions) > 1 else 1.0
    planes = []
    for d in (-1.0, 0.0, 1.0):
        points = canal.points[:, None, :] + canal.anterior[:, None, :] * offsets[None, :, None]
        points = points + np.array([d * step, 0.0, 0.0])
        planes.append(sample(volume, array, points))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # outside the field: NaN
        return np.asarray(np.nanmean(planes, axis=0))


def band_profile(image: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Median signal of the band through the bodies, per arc position (NaN outside the field)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # offsets outside the field: NaN
        across = np.nanmedian(image, axis=0)
    if not np.isfinite(across).any():
        raise ValueError("no signal in front of the canal")
    near = (offsets >= 0) & (offsets <= WALL_SEARCH_MM[1] / 2)
    if not np.isfinite(across[near]).any():
        raise ValueError("the canal lies outside the field")
    peak = int(np.nonzero(near)[0][int(np.nanargmax(across[near]))])  # the CSF in front of the cord
    bone_level = float(np.nanmedian(across[(offsets >= 12) & (offsets <= 30)]))
    half = 0.5 * (float(across[peak]) + bone_level)
    falls = [i for i in range(peak, len(offsets)) if offsets[i] <= WALL_SEARCH_MM[1] and across[i] <= half]
    wall = float(offsets[falls[0]]) if falls else 8.0
    band = (offsets >= wall + BAND_FROM_WALL_MM[0]) & (offsets <= wall + BAND_FROM_WALL_MM[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmedian(image[:, band], axis=1))


def disc_signal(profile: np.ndarray) -> np.ndarray:
    """Smoothed squared departure of the band from its moving average, in units of its median."""
    finite = np.isfinite(profile)
    filled = np.where(finite, profile, np.nanmedian(profile))
    # Relative to the moving average: the coil's fall-off at the ends of the field does not hide the discs.
    trend = ndimage.uniform_filter1d(filled, DETREND_MM, mode="nearest")
    detrended = filled / np.where(trend > 0, trend, np.inf) - 1.0
    scale = float(np.median(np.abs(detrended))) or 1.0
    energy = ndimage.gaussian_filter1d((detrended / scale) ** 2, SMOOTH_MM, mode="nearest")
    return np.where(finite, energy, 0.0)


def candidates(signal: np.ndarray) -> list[tuple[float, float]]:
    """(arc, strength) of the local maxima of the disc signal above its median."""
    floor = float(np.median(signal))
    peaks = (signal[1:-1] > signal[:-2]) & (signal[1:-1] >= signal[2:]) & (signal[1:-1] > floor)
    return [(float(i + 1), float(signal[i + 1])) for i in np.nonzero(peaks)[0]]


def chain(found: list[tuple[float, float]]) -> list[float]:
    """The most regular strong chain of candidates (dynamic programming over pairs of neighbours)."""
    n = len(found)
    if n == 0:
        return []
    arcs = np.array([a for a, _ in found])
    strength = np.array([w for _, w in found])
    # Every candidate counts (a regular chain of many discs wins); a strong one, against the candidates
    # within 30 mm, counts up to twice.
    local = np.array([np.percentile(strength[np.abs(arcs - a) <= 30.0], 75) for a in arcs])
    weight = 0.5 + 1.0 * np.minimum(1.0, strength / local)
    # best[i, j, m]: best chain ending with the candidates i < j, m discs apart (m = 2: one disc between
    # them was not seen, and is inferred half way at a cost).
    best = np.full((n, n, 3), -np.inf)
    back = np.full((n, n, 3, 2), -1, dtype=int)
    gaps = arcs[None, :] - arcs[:, None]
    for j in range(n):
        for i in range(j):
            for m in (1, 2):
                pitch = gaps[i, j] / m
                if not SPACING_MM[0] <= pitch <= SPACING_MM[1]:
                    continue
                cost = MISSED_COST * (m - 1)
                best[i, j, m] = weight[i] + weight[j] - cost
                for k in range(i):
                    for mk in (1, 2):
                        if not np.isfinite(best[k, i, mk]):
                            continue
                        change = np.log(pitch / (gaps[k, i] / mk)) / PITCH_SIGMA
                        value = best[k, i, mk] + weight[j] - cost - 0.5 * change**2
                        if value > best[i, j, m]:
                            best[i, j, m] = value
                            back[i, j, m] = (k, mk)
    if not np.isfinite(best).any():
        return [float(arcs[int(np.argmax(weight))])]
    i, j, m = (int(v) for v in np.unravel_index(int(np.argmax(best)), best.shape))
    out = [float(arcs[j])]
    while True:
        if m == 2:
            out.append(float(0.5 * (arcs[i] + arcs[j])))
        out.append(float(arcs[i]))
        k, mk = (int(v) for v in back[i, j, m])
        if k < 0:
            break
        i, j, m = k, i, mk
    return sorted(out)


def _bone_end(deviation: np.ndarray, start: int, step: int) -> tuple[int, bool]:
    """Last marrow-like index from ``start`` going ``step`` (+1 down, -1 up); complete when a run of
    non-marrow signal at least NOT_MARROW_MM long follows inside the field."""
    i, n, run = start, len(deviation), 0
    last = start
    while 0 <= i < n:
        if not np.isfinite(deviation[i]):
            return last, False
        if deviation[i] > MARROW_DEVIATION:
            run += 1
            if run >= NOT_MARROW_MM:
                return last, True
        else:
            run, last = 0, i
        i += step
    return last, False


def find_discs(volume: Volume, canal: SagittalCanal) -> DiscChain:
    """The disc chain of a sagittal series along its canal."""
    offsets = np.arange(-5.0, 40.0, 1.0)
    profile = band_profile(straightened(volume, canal, offsets), offsets)
    signal = disc_signal(profile)
    finite = np.nonzero(np.isfinite(profile))[0]
    if finite.size == 0:
        raise ValueError("no signal in front of the canal")
    field_top, field_bottom = float(finite[0]), float(finite[-1])
    # A peak within EDGE_MM of an edge of the field is the edge's own step, not a disc seen between bodies.
    found = [(a, w) for a, w in candidates(signal) if field_top + EDGE_MM <= a <= field_bottom - EDGE_MM]
    discs = chain(found)
    length = float(len(profile))
    if len(discs) < 2:
        return DiscChain(tuple(discs), (0.0, 0.0), (0.0, 0.0), False, False, length)
    pitch = float(np.median(np.diff(discs)))
    half = 0.5 * DISC_FRACTION * pitch
    inner = [int(round(0.5 * (a + b))) for a, b in zip(discs, discs[1:], strict=False)]
    marrow = float(np.nanmedian(profile[inner]))
    deviation = np.abs(profile / marrow - 1.0) if marrow > 0 else np.full_like(profile, np.inf)
    # The bone above the first disc: start just above it, smoothed over the disc's own half thickness.
    smooth = ndimage.median_filter(np.nan_to_num(deviation, nan=np.inf), size=3, mode="nearest")
    smooth = np.where(np.isfinite(profile), smooth, np.nan)
    top_start = max(0, int(discs[0] - half) - 1)
    bottom_start = min(len(profile) - 1, int(discs[-1] + half) + 1)
    top_end, top_complete = _bone_end(smooth, top_start, -1)
    bottom_end, bottom_complete = _bone_end(smooth, bottom_start, 1)
    return DiscChain(
        tuple(discs),
        (float(top_end), discs[0] - half),
        (discs[-1] + half, float(bottom_end)),
        top_complete,
        bottom_complete,
        length,
        field_top,
        _signal_above(signal, discs, field_top, half),
    )


def _signal_above(signal: np.ndarray, discs: list[float], field_top: float, half: float) -> float:
    """Strongest disc signal between the top edge (+ EDGE_MM: the edge's own step) and the first disc's
    upper half thickness, over the median disc of the chain."""
    typical = float(np.median([float(signal[int(round(d))]) for d in discs]))
    start, stop = int(field_top + EDGE_MM), int(discs[0] - 2 * half)
    if stop <= start or typical <= 0:
        return float("inf") if typical <= 0 else 0.0
    return float(np.max(signal[start:stop])) / typical


def to_z(canal: SagittalCanal, arc: float) -> float:
    """Patient z of the canal point at ``arc`` mm from its top."""
    z = canal.points[:, 2]
    return float(np.interp(arc, np.arange(len(z), dtype=float), z))
