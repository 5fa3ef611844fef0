"""Vertebral levels from a sagittal T1 or T2 series, without a radiologist's labels.

Classical method:

1. **Canal line.** The cord centre line of the sagittal T2 (:func:`segment_cord`) gives the canal.
2. **Body profile.** Along the canal, lines 10-18 mm in front of it run through the vertebral bodies. At each
   height the deviation of the signal from the patient's marrow signal (the median over the band) is taken
   line by line and its median kept: marrow gives ~0; discs (bright or dark nucleus, dark annulus) and
   endplates give large values on T1 and T2 alike.
3. **Bodies.** Runs of marrow-like signal are bodies; gaps shorter than 3 mm (an endplate) are bridged; a run
   much shorter than the typical body (a focal lesion cutting a body in two) is merged across its gap; a
   gap as long as a body plus two discs (a whole body replaced) gets an inferred body in its middle.
4. **Naming.** From a landmark: C2 is the tallest bone at the top of a cervical field (body plus dens,
   >= 1.6 times the typical body); the sacrum the tallest at the bottom of a lumbar field (then the body
   above it is L5). Without a landmark, a series description that names the covered range ("C2-C5") names
   the bodies when their count matches. Otherwise no levels are given.

Each level spans from the top of its body to the top of the next body (the disc below belongs to it), in
patient z (mm, superior positive), as ``levels[name] = (z_top, z_bottom)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from workers.analysis.base import SeriesInput
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.marrow.bodies import sample_at
from workers.analysis.volume import Volume, load_volume

SPINE: tuple[str, ...] = (
    ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
    + tuple(f"T{i}" for i in range(1, 13))
    + ("L1", "L2", "L3", "L4", "L5", "S1")
)
STEP_MM = 0.5
BAND_MM = (10.0, 18.0)
DEVIATION = 0.2
ENDPLATE_MM = 3.0
LANDMARK_RATIO = 1.6
_RANGE = re.compile(r"\b([CTL])\s?(\d{1,2})\s*(?:-|/|to)\s*([CTLS])?\s?(\d{1,2})\b", re.IGNORECASE)


@dataclass(frozen=True)
class LevelEstimate:
    """Vertebral levels found on one sagittal series, and how they were named."""

    levels: dict[str, tuple[float, float]]
    bodies: tuple[tuple[float, float], ...]  # (z_top, z_bottom) of each body, top to bottom
    anchor: str
    series_instance_uid: str
    notes: tuple[str, ...] = field(default=())


def canal_line(t2: Volume) -> np.ndarray:
    """Points (N x 3, patient mm, ascending z) of the cord centre line on a sagittal T2."""
    seg = segment_cord(AxialView.of(t2))
    found = np.nonzero(seg.found)[0]
    if len(found) < 2:
        raise ValueError("cord centre line not found on the sagittal T2")
    points = seg.view.to_patient(np.column_stack([found, seg.centres[found]]))
    return np.asarray(points[np.argsort(points[:, 2])])


def body_profile(volume: Volume, canal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heights z (ascending, mm) and the marrow deviation profile in front of the canal."""
    z = np.arange(canal[0, 2], canal[-1, 2] + 1e-6, STEP_MM)
    cy = np.interp(z, canal[:, 2], canal[:, 1])
    cx = np.interp(z, canal[:, 2], canal[:, 0])
    lines = np.array([sample_at(volume, np.column_stack([cx, cy - d, z])) for d in np.arange(*BAND_MM, 1.0)])
    marrow = _mode(lines[np.isfinite(lines)])
    if not np.isfinite(marrow) or marrow <= 0:
        raise ValueError("no signal in front of the canal")
    deviation = np.nanmedian(np.abs(lines / marrow - 1.0), axis=0)
    return z, np.where(np.isfinite(deviation), deviation, 1.0)


def _mode(values: np.ndarray) -> float:
    """The most frequent value (histogram peak, 1st-99th percentile): marrow dominates the band."""
    if values.size == 0:
        return float("nan")
    low, high = np.percentile(values, [1, 99])
    hist, edges = np.histogram(values, bins=48, range=(float(low), float(high) + 1e-6))
    peak = int(np.argmax(np.convolve(hist, np.ones(3), mode="same")))
    return float(0.5 * (edges[peak] + edges[peak + 1]))


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Index ranges [start, stop) of consecutive True."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist(), strict=True))


def find_bodies(z: np.ndarray, deviation: np.ndarray) -> list[tuple[float, float]]:
    """Vertebral bodies (z_top, z_bottom), top to bottom, from a marrow deviation profile."""
    runs = [(float(z[a]), float(z[b - 1])) for a, b in _runs(deviation < DEVIATION)]  # (low, high), ascending
    merged: list[list[float]] = []
    for low, high in runs:
        if merged and low - merged[-1][1] <= ENDPLATE_MM:
            merged[-1][1] = high
        else:
            merged.append([low, high])
    merged = [r for r in merged if r[1] - r[0] >= 2.0]
    if len(merged) < 2:
        return [(hi, lo) for lo, hi in merged][::-1]
    # Merge a short piece with the neighbour that makes a body of typical height (a lesion splitting a body).
    typical = float(np.median([r[1] - r[0] for r in merged]))
    changed = True
    while changed:
        changed = False
        for i, (low, high) in enumerate(merged):
            if high - low >= 0.5 * typical:
                continue
            near = [r[1] - r[0] for r in merged[max(0, i - 3) : i + 4] if r[1] - r[0] >= 0.5 * typical]
            local = float(np.median(near)) if near else typical
            spans = []
            for j in (i - 1, i + 1):
                if 0 <= j < len(merged):
                    span = max(high, merged[j][1]) - min(low, merged[j][0])
                    if span <= 1.25 * local:
                        spans.append((abs(span - local), j))
            if spans:
                j = min(spans)[1]
                a, b = min(i, j), max(i, j)
                merged[a] = [merged[a][0], merged[b][1]]
                del merged[b]
                changed = True
                break
    typical = float(np.median([r[1] - r[0] for r in merged]))
    # Infer a body inside a gap as long as a body plus two discs.
    gaps = [merged[i + 1][0] - merged[i][1] for i in range(len(merged) - 1)]
    typical_gap = float(np.median(gaps))
    out: list[tuple[float, float]] = []
    for i, (low, high) in enumerate(merged):
        out.append((low, high))
        if i < len(gaps) and gaps[i] > typical + typical_gap:
            centre = 0.5 * (high + merged[i + 1][0])
            out.append((centre - typical / 2, centre + typical / 2))
    return [(hi, lo) for lo, hi in out][::-1]


def name_bodies(
    bodies: Sequence[tuple[float, float]], z_range: tuple[float, float], description: str = ""
) -> tuple[list[str] | None, str]:
    """Level names of ``bodies`` (top to bottom) and the anchor used, or (None, reason)."""
    if len(bodies) < 3:
        return None, f"only {len(bodies)} bodies found"
    heights = [top - bottom for top, bottom in bodies]
    z_low, z_high = z_range
    top_complete = bodies[0][1] > z_low + 1.0
    bottom_complete = bodies[-1][0] < z_high - 1.0
    typical_top = float(np.median(heights[1:]))
    if top_complete and heights[0] >= LANDMARK_RATIO * typical_top and bodies[0][0] >= z_high - 2.0 * typical_top:
        return _sequence("C2", len(bodies)), "C2 (tallest bone at the top of the field: body and dens)"
    typical_bottom = float(np.median(heights[:-1]))
    if bottom_complete and heights[-1] >= LANDMARK_RATIO * typical_bottom and bodies[-1][1] <= z_low + 25.0:
        names = _sequence(None, len(bodies), last="S1")
        if names is not None:
            return names, "sacrum (tallest bone at the bottom of the field)"
    match = _RANGE.search(description)
    if match:
        first = f"{match.group(1).upper()}{int(match.group(2))}"
        last = f"{(match.group(3) or match.group(1)).upper()}{int(match.group(4))}"
        if first in SPINE and last in SPINE and SPINE.index(last) - SPINE.index(first) + 1 == len(bodies):
            return _sequence(first, len(bodies)), f"series description ({match.group(0)})"
    return None, "no landmark (C2 or sacrum) in the field and no level range in the series description"


def _sequence(first: str | None, n: int, last: str | None = None) -> list[str] | None:
    if first is not None:
        start = SPINE.index(first)
    else:
        assert last is not None
        start = SPINE.index(last) - n + 1
    if start < 0 or start + n > len(SPINE):
        return None
    return list(SPINE[start : start + n])


def level_ranges(bodies: Sequence[tuple[float, float]], names: Sequence[str]) -> dict[str, tuple[float, float]]:
    """name -> (top of its body, top of the next body); the last level ends one typical disc below."""
    discs = [bodies[i][1] - bodies[i + 1][0] for i in range(len(bodies) - 1)]
    disc = float(np.median(discs)) if discs else 5.0
    out = {}
    for i, name in enumerate(names):
        bottom = bodies[i + 1][0] if i + 1 < len(bodies) else bodies[i][1] - disc
        out[name] = (float(bodies[i][0]), float(bottom))
    return out


def estimate_levels(series: Sequence[SeriesInput]) -> LevelEstimate | None:
    """Levels from the sagittal T1 (or T2) of a study, with the canal from its sagittal T2; None if absent."""
    t2 = next((s for s in series if s.sequence == "T2" and s.plane == "sagittal"), None)
    if t2 is None:
        return None
    t1 = next((s for s in series if s.sequence == "T1" and s.plane == "sagittal"), None)
    source = t1 or t2
    t2_volume = load_volume(t2.datasets)
    volume = t2_volume if source is t2 else load_volume(source.datasets)
    canal = canal_line(t2_volume)
    z, deviation = body_profile(volume, canal)
    bodies = find_bodies(z, deviation)
    description = " ".join(
        str(source.datasets[0].get(k, "") or "") for k in ("SeriesDescription", "BodyPartExamined", "ProtocolName")
    )
    names, anchor = name_bodies(bodies, (float(z[0]), float(z[-1])), description)
    levels = level_ranges(bodies, names) if names else {}
    return LevelEstimate(levels, tuple(bodies), anchor, source.series_uid)
