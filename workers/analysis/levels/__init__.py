"""Vertebral levels from a sagittal T1 or T2 series, without a radiologist's labels.

Two classical ways find the vertebral bodies, and both are named by the same anchors and cues:

- the **marrow profile** along the cord centre line (steps 1-3 below), and
- the **discs along the canal** (:mod:`.canal`, :mod:`.discs`, :mod:`.from_discs`): the canal followed on
  its own on the sagittal T2, the disc signal in a band in front of it, the most regular chain of discs,
  and the bodies between them.

When both name levels they must agree (:func:`.from_discs.disagreement`: every body within half a body of
the body of the same name), and whenever the disc chain holds three discs or more, none of the bones the
marrow profile names may hold two of them (:func:`.from_discs.discs_inside`: vertebrae merged into one tall
bone, taken for C2 or the sacrum), else no level is named; when only one names them, its names are kept; when
neither does, the verdict gives the reason of the way that saw the most (an anchor contradicted by a second
cue first, then the disc chain).

The marrow profile:

1. **Canal line.** The cord centre line of the sagittal T2 (:func:`segment_cord`) gives the canal. It is
   checked first (:mod:`.line_check`): no step between neighbouring samples larger than the spine allows, and
   no part further from the canal followed on its own than the cord can lie from it. A line that breaks is
   profiled only on a continuous run of it (the longest that names its bodies, with a note saying where);
   when none names, no level is named by this way and the reason says where the line jumps. The canal
   followed on its own is checked alike before its discs are read.
2. **Body profile.** Along the canal, lines 10-18 mm in front of it run through the vertebral bodies. At each
   height the deviation of the signal from the patient's marrow signal (the median over the band) is taken
   line by line and its median kept: marrow gives ~0; discs (bright or dark nucleus, dark annulus) and
   endplates give large values on T1 and T2 alike.
3. **Bodies.** Runs of marrow-like signal are bodies; gaps shorter than 3 mm (an endplate) are bridged; a run
   much shorter than the typical body (a focal lesion cutting a body in two) is merged across its gap; a
   gap as long as a body plus two discs (a whole body replaced) gets an inferred body in its middle.
4. **Naming, never silently wrong.** Only from an anchor really in the field: C2 (the tallest bone at the top
   of the field, body and dens, >= 1.6 times the typical body) or the sacrum (the tallest bone at the bottom,
   the body above it is L5, the bodies above it at lumbar spacing, and the image shows sacral anatomy: no disc
   of normal signal under its first body, the canal turning backwards over it; :mod:`.sacrum`). The names
   must then agree with every second cue (:func:`name_bodies`): the bodies look like a vertebral column,
   each body has the height of its level, the cervical/lumbar region in the body part or series description
   is the anchor's (a head/brain header: no names below C4), and a level range in the description
   ("C2-C5") lies among the names. Otherwise no level is named and the QC verdict (:func:`levels_verdict`)
   says why. An end bone that is only a fragment cut by the field is left unnamed
   (:func:`without_end_fragments`).

Each level spans from the top of its body to the top of the next body (the disc below belongs to it), in
patient z (mm, superior positive), as ``levels[name] = (z_top, z_bottom)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from workers.analysis.base import QcStatus, QcVerdict, SeriesInput
from workers.analysis.levels.from_discs import disagreement, discs_inside, name_from_discs
from workers.analysis.levels.line_check import MIN_RUN_MM, Break, Outside, breaks, describe, outside, runs
from workers.analysis.levels.naming import (
    DENS_MAX_RATIO,
    SPINE,
    STEP_MM,
    TYPICAL_HEIGHT_MM,
    Naming,
    heights_consistent,
    name_bodies,
    region_of,
    without_end_fragments,
)
from workers.analysis.levels.sacrum import SacrumCheck, check_sacrum
from workers.analysis.levels.sagittal_canal import SagittalCanal, along, find_canal, sample, voxels
from workers.analysis.segmentations import cord_segmentation
from workers.analysis.volume import Volume, load_volume

BAND_MM = (10.0, 18.0)
DEVIATION = 0.2
ENDPLATE_MM = 3.0


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


def body_profile(volume: Volume, canal: np.ndarray, array: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Heights z (ascending, mm) and the marrow deviation profile in front of the canal (``array``: the
    volume's :func:`voxels`, when the caller has them)."""
    z = np.arange(canal[0, 2], canal[-1, 2] + 1e-6, STEP_MM)
    cy = np.interp(z, canal[:, 2], canal[:, 1])
    cx = np.interp(z, canal[:, 2], canal[:, 0])
    lines = _lines(volume, voxels(volume) if array is None else array, cx, cy, z, np.arange(*BAND_MM, 1.0))
    marrow = _mode(lines[np.isfinite(lines)])
    if not np.isfinite(marrow) or marrow <= 0:
        raise ValueError("no signal in front of the canal")
    deviation = np.nanmedian(np.abs(lines / marrow - 1.0), axis=0)
    return z, np.where(np.isfinite(deviation), deviation, 1.0)


def dens_ratio(
    volume: Volume, canal: np.ndarray, body: tuple[float, float], array: np.ndarray | None = None
) -> float | None:
    """AP extent of marrow-like signal in front of the canal, upper third of ``body`` over its lower third
    (``array``: the volume's :func:`voxels`, when the caller has them)."""
    top, bottom = body
    samples = voxels(volume) if array is None else array
    third = (top - bottom) / 3.0
    depths = np.arange(2.0, 30.0, 0.5)

    def width(z_hi: float, z_lo: float) -> float | None:
        zs = np.arange(z_lo, z_hi, STEP_MM)
        if zs.size == 0:
            return None
        cy = np.interp(zs, canal[:, 2], canal[:, 1])
        cx = np.interp(zs, canal[:, 2], canal[:, 0])
        lines = _lines(volume, samples, cx, cy, zs, depths)  # (depth, z)
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


def _lines(
    volume: Volume, array: np.ndarray, cx: np.ndarray, cy: np.ndarray, z: np.ndarray, depths: np.ndarray
) -> np.ndarray:
    """(depth, z) trilinear samples of ``array`` (the volume's :func:`voxels`) on the lines ``depths`` mm in
    front of the canal points; NaN outside (all lines in one call)."""
    points = np.stack([np.broadcast_to(cx, (len(depths), len(z))), cy[None, :] - depths[:, None],
                       np.broadcast_to(z, (len(depths), len(z)))], axis=-1)  # fmt: skip
    return sample(volume, array, points)


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
__all__ = [
    "ANALYSER",
    "DENS_MAX_RATIO",
    "SPINE",
    "TYPICAL_HEIGHT_MM",
    "LevelEstimate",
    "Naming",
    "body_profile",
    "canal_line",
    "dens_ratio",
    "estimate_levels",
    "find_bodies",
    "heights_consistent",
    "level_ranges",
    "marrow_bodies",
    "levels_verdict",
    "name_bodies",
    "region_of",
    "without_end_fragments",
]


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
        line = canal_line(t2_volume)
        array = voxels(volume)  # once for every sampling of the series
        try:
            followed: SagittalCanal | None = find_canal(t2_volume)
        except (ValueError, IndexError, ArithmeticError):
            followed = None  # the disc chain says why
        header = source.datasets[0]
        description = (
            " ".join(str(header.get(k, "") or "") for k in ("BodyPartExamined", "SeriesDescription", "ProtocolName"))
            + " "
            + (source.inventory.region or "")
        )
        on_its_own = followed.as_line() if followed is not None else None
        bodies, naming, notes = marrow_bodies(volume, t2_volume, line, on_its_own, description, array)
    except (ValueError, ArithmeticError) as exc:
        return LevelEstimate({}, (), f"vertebral column not seen: {exc}", source.series_uid, status=QcStatus.FAILED)
    by_discs = name_from_discs(
        t2_volume, description, lambda line, body: dens_ratio(volume, line, body, array), followed
    )
    uid = source.series_uid
    if naming.names and by_discs.discs >= 3:
        doubt = discs_inside(by_discs.bodies, bodies, naming.names)
        if not doubt and by_discs.naming.names:
            doubt = disagreement(by_discs.bodies, by_discs.naming.names, bodies, naming.names)
        if doubt:
            why = f"{naming.anchor} found, but {doubt}"
            return LevelEstimate({}, tuple(bodies), why, uid, notes, status=QcStatus.UNRELIABLE)
    if not naming.names and by_discs.naming.names:
        # The disc chain follows its own canal line: a break of the cord line says nothing about its names.
        naming, bodies, notes = by_discs.naming, by_discs.bodies, ()
    if not naming.names:
        # An anchor contradicted by a second cue is said first; else the disc chain says more about why no
        # level is named when the column was seen there.
        ways = [(naming, bodies), (by_discs.naming, by_discs.bodies)]
        doubted = [way for way in ways if way[0].status is QcStatus.UNRELIABLE]
        reason, seen = doubted[0] if doubted else ways[1] if by_discs.discs >= 3 else ways[0]
        # A broken cord line is said too when the disc chain gives the reason.
        why = reason.anchor if reason is naming or not notes else f"{reason.anchor}; along the cord: {notes[0]}"
        return LevelEstimate({}, tuple(seen), why, uid, notes, status=reason.status)
    named_bodies, names = without_end_fragments(bodies, naming.names)
    levels = level_ranges(named_bodies, names)
    return LevelEstimate(levels, tuple(bodies), naming.anchor, uid, notes, status=naming.status)


def marrow_bodies(
    volume: Volume,
    t2_volume: Volume,
    line: np.ndarray,
    on_its_own: np.ndarray | None,
    description: str,
    array: np.ndarray | None = None,
) -> tuple[list[tuple[float, float]], Naming, tuple[str, ...]]:
    """The bodies of the marrow profile of ``volume`` along the cord line ``line`` of the sagittal T2
    ``t2_volume`` (ascending z), their naming and notes. The line is checked first (:mod:`.line_check`), also
    against ``on_its_own``, the canal followed on its own (ascending z): when it jumps or leaves the canal,
    only a continuous run of it is profiled. ValueError when a continuous line shows no signal in front."""
    samples = voxels(volume) if array is None else array
    jumps: list[Break | Outside] = [*breaks(line), *outside(line, on_its_own)]
    if jumps:
        return _on_runs(volume, t2_volume, jumps, runs(line, on_its_own), samples, description)
    z, deviation = body_profile(volume, line, samples)
    bodies, naming = _marrow_naming(volume, t2_volume, line, z, deviation, samples, description)
    return bodies, naming, ()


def _on_runs(
    volume: Volume,
    t2_volume: Volume,
    jumps: Sequence[Break | Outside],
    pieces: Sequence[np.ndarray],
    array: np.ndarray,
    description: str,
) -> tuple[list[tuple[float, float]], Naming, tuple[str, ...]]:
    """The marrow profile on a broken cord line: only a continuous run of it is profiled, the first (longest)
    whose bodies are named, with a note saying where. When none is, the longest says why, after the break (an
    anchor there contradicted by a second cue stays a doubt)."""
    broken = describe(jumps)
    bodies: list[tuple[float, float]] = []
    naming = Naming(None, f"{broken}; no continuous part of it is {MIN_RUN_MM:.0f} mm long", QcStatus.FAILED)
    for i, piece in enumerate(pieces):
        try:
            z, deviation = body_profile(volume, piece, array)
        except (ValueError, ArithmeticError):
            continue
        found, named = _marrow_naming(volume, t2_volume, piece, z, deviation, array, description)
        part = f"z = {piece[0, 2]:.0f} to {piece[-1, 2]:.0f} mm"
        if named.names:
            return found, named, (f"{broken}; the levels are counted only on the continuous part from {part}",)
        if i == 0:
            status = QcStatus.UNRELIABLE if named.status is QcStatus.UNRELIABLE else QcStatus.FAILED
            bodies, naming = (
                found,
                Naming(None, f"{broken}; on its longest continuous part ({part}): {named.anchor}", status),
            )
    return bodies, naming, (broken,)


def _marrow_naming(
    volume: Volume,
    t2_volume: Volume,
    canal: np.ndarray,
    z: np.ndarray,
    deviation: np.ndarray,
    array: np.ndarray,
    description: str,
) -> tuple[list[tuple[float, float]], Naming]:
    """The bodies of the marrow profile along ``canal`` (a continuous cord line) and their naming."""
    bodies = find_bodies(z, deviation)
    dens = dens_ratio(volume, canal, bodies[0], array) if bodies else None

    # The bottom bone is looked at for sacral anatomy along the line on which it was found (the cord line),
    # resampled only when a bottom bone is looked at (a lumbar naming).
    def sacrum(found: Sequence[tuple[float, float]]) -> SacrumCheck:
        return check_sacrum(t2_volume, along(canal[::-1]), found)

    return bodies, name_bodies(bodies, (float(z[0]), float(z[-1])), description, dens, sacrum)


def levels_verdict(estimate: LevelEstimate) -> QcVerdict:
    """The QC verdict of the levels output of one series: ok with the anchor, or why no level was named."""
    if estimate.status is QcStatus.OK:
        return QcVerdict(ANALYSER, estimate.series_instance_uid, QcStatus.OK, f"anchor: {estimate.anchor}")
    return QcVerdict(ANALYSER, estimate.series_instance_uid, estimate.status, f"no level named: {estimate.anchor}")
