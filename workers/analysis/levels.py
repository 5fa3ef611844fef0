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
4. **Naming, never silently wrong.** Only from an anchor really in the field: C2 (the tallest bone at the top
   of the field, body and dens, >= 1.6 times the typical body) or the sacrum (the tallest bone at the bottom,
   the body above it is L5). The names must then agree with every second cue (:func:`name_bodies`): the
   bodies look like a vertebral column, each body has the height of its level, the cervical/lumbar region
   in the body part or series description is the anchor's, and a level range in the description ("C2-C5")
   lies among the names. Otherwise no level is named and the QC verdict (:func:`levels_verdict`) says why.

Each level spans from the top of its body to the top of the next body (the disc below belongs to it), in
patient z (mm, superior positive), as ``levels[name] = (z_top, z_bottom)``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from workers.analysis.base import QcStatus, QcVerdict, SeriesInput
from workers.analysis.marrow.bodies import sample_at
from workers.analysis.segmentations import cord_segmentation
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
    anchor: str  # the anchor used, or why no level was named
    series_instance_uid: str
    notes: tuple[str, ...] = field(default=())
    status: QcStatus = QcStatus.OK

    def __post_init__(self) -> None:
        if self.levels and self.status is not QcStatus.OK:
            raise ValueError(f"levels named with a {self.status.value} verdict ({self.anchor})")


def canal_line(t2: Volume) -> np.ndarray:
    """Points (N x 3, patient mm, ascending z) of the cord centre line on a sagittal T2."""
    seg = cord_segmentation(t2)
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


def dens_ratio(volume: Volume, canal: np.ndarray, body: tuple[float, float]) -> float | None:
    """AP extent of marrow-like signal in front of the canal, upper third of ``body`` over its lower third."""
    top, bottom = body
    third = (top - bottom) / 3.0
    depths = np.arange(2.0, 30.0, 0.5)

    def width(z_hi: float, z_lo: float) -> float | None:
        zs = np.arange(z_lo, z_hi, STEP_MM)
        if zs.size == 0:
            return None
        cy = np.interp(zs, canal[:, 2], canal[:, 1])
        cx = np.interp(zs, canal[:, 2], canal[:, 0])
        lines = np.array([sample_at(volume, np.column_stack([cx, cy - d, zs])) for d in depths])  # (depth, z)
        values = lines[np.isfinite(lines)]
        marrow = _mode(values) if values.size else float("nan")
        if not np.isfinite(marrow) or marrow <= 0:
            return None
        like = np.abs(lines / marrow - 1.0) < 1.5 * DEVIATION
        runs = [max((b - a for a, b in _runs(like[:, j])), default=0) for j in range(like.shape[1])]
        return float(np.median(runs)) * 0.5

    upper, lower = width(top, top - third), width(bottom + third, bottom)
    if upper is None or lower is None or lower <= 0:
        return None
    return upper / lower


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


#: Typical adult vertebral body heights (mm, mid-sagittal), C3 to L5; only their ratios matter (one scale
#: factor per patient is fitted), so a small or tall patient is not rejected.
TYPICAL_HEIGHT_MM: dict[str, float] = {
    "C3": 14.0, "C4": 14.0, "C5": 14.0, "C6": 14.0, "C7": 14.5,
    "T1": 16.0, "T2": 17.0, "T3": 17.5, "T4": 18.0, "T5": 18.5, "T6": 19.0, "T7": 19.5, "T8": 20.5,
    "T9": 21.5, "T10": 22.5, "T11": 23.5, "T12": 24.5,
    "L1": 25.5, "L2": 26.5, "L3": 27.0, "L4": 27.0, "L5": 26.0,
}  # fmt: skip
SCALE_RANGE = (0.6, 1.4)  # patient scale factor against the typical heights
BODY_TOLERANCE = (0.6, 1.6)  # each body against the scaled typical height
DENS_MAX_RATIO = 0.85  # the dens (about 10 mm AP) is narrower than the C2 body (about 15 mm)
_CERVICAL_WORDS = ("cspine", "c-spine", "cervical", "neck", "c spine", "hals")
_LUMBAR_WORDS = ("lspine", "l-spine", "lumbar", "sacrum", "l spine", "lws")


@dataclass(frozen=True)
class Naming:
    """Level names of the bodies (top to bottom) and how they were found, or why none were named.

    ``status``: ``ok`` (an anchor in the field, confirmed by the second cues), ``unreliable`` (an anchor was
    found but a second cue disagrees: no level named), ``failed`` (no anchor in the field).
    """

    names: list[str] | None
    anchor: str
    status: QcStatus


def heights_consistent(bodies: Sequence[tuple[float, float]], names: Sequence[str]) -> str:
    """Empty when the body heights fit the named levels (one scale factor for the patient); else why not."""
    pairs = [
        (top - bottom, TYPICAL_HEIGHT_MM[n])
        for (top, bottom), n in zip(bodies, names, strict=True)
        if n in TYPICAL_HEIGHT_MM
    ]
    if len(pairs) < 2:
        return ""
    ratios = np.array([h / t for h, t in pairs])
    scale = float(np.median(ratios))
    if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
        return (
            f"the vertebral bodies are {scale:.1f} times the usual height of {names[0]}-{names[-1]} "
            f"(median {np.median([h for h, _ in pairs]):.0f} mm)"
        )
    off = [
        (n, h)
        for (h, t), n in zip(pairs, [n for n in names if n in TYPICAL_HEIGHT_MM], strict=True)
        if not BODY_TOLERANCE[0] <= h / (scale * t) <= BODY_TOLERANCE[1]
    ]
    if len(off) > max(1, len(pairs) // 5):
        listed = ", ".join(f"{n} {h:.0f} mm" for n, h in off[:4])
        return f"{len(off)} of {len(pairs)} bodies do not have the height of their level ({listed})"
    return ""


def _regular(bodies: Sequence[tuple[float, float]]) -> str:
    """Empty when the bodies look like a column of vertebrae (discs thinner than bodies); else why not."""
    heights = np.array([top - bottom for top, bottom in bodies])
    gaps = np.array([bodies[i][1] - bodies[i + 1][0] for i in range(len(bodies) - 1)])
    if gaps.size and float(np.median(gaps)) > 0.8 * float(np.median(heights)):
        return (
            f"the bodies found ({np.median(heights):.0f} mm) are not taller than the gaps between them "
            f"({np.median(gaps):.0f} mm): the vertebral column is not clearly seen"
        )
    return ""


def region_of(text: str) -> str | None:
    """``cervical`` or ``lumbar`` when the body part, series description or inventory region says so."""
    low = text.lower()
    cervical = any(w in low for w in _CERVICAL_WORDS)
    lumbar = any(w in low for w in _LUMBAR_WORDS)
    if cervical == lumbar:
        return None
    return "cervical" if cervical else "lumbar"


def name_bodies(
    bodies: Sequence[tuple[float, float]],
    z_range: tuple[float, float],
    description: str = "",
    dens_ratio: float | None = None,
) -> Naming:
    """Name ``bodies`` (top to bottom) from an anchor really in the field, cross-checked by second cues.

    Anchors: C2 (the tallest bone at the top of the field: body and dens, its top inside the field) or the
    sacrum (the tallest bone at the bottom, its bottom inside the field). Second cues, all of which must
    agree: the bodies look like a vertebral column (discs thinner than bodies); every body has the height of
    its level (one scale factor for the patient); the region named by the body part or description (cervical,
    lumbar) is the region of the anchor; a level range in the description ("C2-C5") matches the names; for
    C2, ``dens_ratio`` (AP width of the bone's upper third over its lower third, :func:`dens_ratio`) shows the
    narrower dens on top (two bodies merged into one tall piece have no dens).
    """
    if len(bodies) < 3:
        return Naming(None, f"only {len(bodies)} vertebral bodies found", QcStatus.FAILED)
    heights = [top - bottom for top, bottom in bodies]
    z_low, z_high = z_range
    # Complete: non-marrow signal is sampled beyond the bone (the dens tip, the sacrum not cut by the edge).
    top_complete = bodies[0][0] < z_high - STEP_MM / 2
    bottom_complete = bodies[-1][1] > z_low + STEP_MM / 2
    typical_top = float(np.median(heights[1:]))
    typical_bottom = float(np.median(heights[:-1]))
    names: list[str] | None = None
    if top_complete and heights[0] >= LANDMARK_RATIO * typical_top and bodies[0][0] >= z_high - 2.0 * typical_top:
        names, anchor, region = _sequence("C2", len(bodies)), "C2 (body and dens at the top of the field)", "cervical"
    elif bottom_complete and heights[-1] >= LANDMARK_RATIO * typical_bottom and bodies[-1][1] <= z_low + 25.0:
        names, anchor, region = (
            _sequence(None, len(bodies), last="S1"),
            "sacrum (tallest bone at the bottom of the field)",
            "lumbar",
        )
    if names is None:
        return Naming(None, "no anchor in the field (neither C2 with the dens nor the sacrum)", QcStatus.FAILED)
    doubt = _regular(bodies) or heights_consistent(
        bodies[1:] if region == "cervical" else bodies[:-1], names[1:] if region == "cervical" else names[:-1]
    )
    if not doubt and region == "cervical" and dens_ratio is not None and dens_ratio > DENS_MAX_RATIO:
        doubt = (
            f"its upper part is not narrower than its body ({dens_ratio:.2f} of its width): no dens is seen, "
            "it may be two bodies taken for one"
        )
    stated = region_of(description)
    if not doubt and stated is not None and stated != region:
        doubt = (
            f"the {anchor.split(' ')[0]} anchor contradicts the {stated} region in the header ({description.strip()})"
        )
    match = _RANGE.search(description)
    if not doubt and match:
        first = f"{match.group(1).upper()}{int(match.group(2))}"
        if first in SPINE and first not in names:
            doubt = f"the series description names {match.group(0)}, outside the levels found ({names[0]}-{names[-1]})"
    if doubt:
        return Naming(None, f"{anchor} found, but {doubt}", QcStatus.UNRELIABLE)
    return Naming(names, anchor, QcStatus.OK)


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


ANALYSER = "vertebral_levels"


def estimate_levels(series: Sequence[SeriesInput]) -> LevelEstimate | None:
    """Levels from the sagittal T1 (or T2) of a study, with the canal from its sagittal T2; None without a
    sagittal T2. A failure to see the canal or the bodies is an estimate without levels, with the reason."""
    t2 = next((s for s in series if s.sequence == "T2" and s.plane == "sagittal"), None)
    if t2 is None:
        return None
    t1 = next((s for s in series if s.sequence == "T1" and s.plane == "sagittal"), None)
    source = t1 or t2
    try:
        t2_volume = load_volume(t2.datasets)
        volume = t2_volume if source is t2 else load_volume(source.datasets)
        canal = canal_line(t2_volume)
        z, deviation = body_profile(volume, canal)
    except (ValueError, ArithmeticError) as exc:
        return LevelEstimate({}, (), f"vertebral column not seen: {exc}", source.series_uid, status=QcStatus.FAILED)
    bodies = find_bodies(z, deviation)
    header = source.datasets[0]
    description = (
        " ".join(str(header.get(k, "") or "") for k in ("BodyPartExamined", "SeriesDescription", "ProtocolName"))
        + " "
        + str(source.inventory.get("region") or "")
    )
    dens = dens_ratio(volume, canal, bodies[0]) if bodies else None
    naming = name_bodies(bodies, (float(z[0]), float(z[-1])), description, dens)
    levels = level_ranges(bodies, naming.names) if naming.names else {}
    return LevelEstimate(levels, tuple(bodies), naming.anchor, source.series_uid, status=naming.status)


def levels_verdict(estimate: LevelEstimate) -> QcVerdict:
    """The QC verdict of the levels output of one series: ok with the anchor, or why no level was named."""
    if estimate.status is QcStatus.OK:
        return QcVerdict(ANALYSER, estimate.series_instance_uid, QcStatus.OK, f"anchor: {estimate.anchor}")
    return QcVerdict(ANALYSER, estimate.series_instance_uid, estimate.status, f"no level named: {estimate.anchor}")
