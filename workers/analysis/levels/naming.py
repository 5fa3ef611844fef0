"""Naming vertebral bodies from an anchor really in the field, cross-checked by second cues."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from workers.analysis.base import QcStatus
from workers.analysis.levels.sacrum import SacrumCheck

SPINE: tuple[str, ...] = (
    ("C1", "C2", "C3", "C4", "C5", "C6", "C7")
    + tuple(f"T{i}" for i in range(1, 13))
    + ("L1", "L2", "L3", "L4", "L5", "S1")
)
STEP_MM = 0.5
LANDMARK_RATIO = 1.6
_RANGE = re.compile(r"\b([CTL])\s?(\d{1,2})\s*(?:-|/|to)\s*([CTLS])?\s?(\d{1,2})\b", re.IGNORECASE)


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
_HEAD_WORDS = ("head", "brain", "skull", "kopf")
#: A brain field (about 240 mm, centred on the brain) ends in the upper cervical spine: a header saying head
#: or brain contradicts names below this level.
HEAD_LOWEST = "C4"
#: An end bone shorter than this fraction of the median body is a piece cut by the field (or an edge taken
#: for bone), not a body whose level extent can be given: it is left unnamed.
FRAGMENT = 0.5
#: The bodies above a sacrum are lumbar: 25-30 mm with 8-12 mm discs in adults, 33-42 mm apart (top to top),
#: still about 24 mm at the smallest patient scale (0.6-0.7); cervical bodies are 16-19 mm apart, upper
#: thoracic ones 20-24 mm. A tall bottom bone under bodies closer than this is not a sacrum.
LUMBAR_PITCH_MM = 24.0


#: Whether the bottom bone of the bodies (top to bottom) continues as a sacrum (:func:`.sacrum.check_sacrum`).
SacrumCheckOf = Callable[[Sequence[tuple[float, float]]], SacrumCheck]
SACRUM_ANCHOR = "sacrum (the tallest bone at the bottom of the field, fused below its first body, the column turning)"


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
    """``cervical``, ``lumbar`` or ``head`` when the body part, series description or inventory region says
    so (only one of them; none when they are mixed or absent)."""
    low = text.lower()
    said = [
        region
        for region, words in (("cervical", _CERVICAL_WORDS), ("lumbar", _LUMBAR_WORDS), ("head", _HEAD_WORDS))
        if any(w in low for w in words)
    ]
    return said[0] if len(said) == 1 else None


def without_end_fragments(
    bodies: Sequence[tuple[float, float]], names: Sequence[str]
) -> tuple[list[tuple[float, float]], list[str]]:
    """``bodies`` and their ``names`` without an end bone that is only a fragment (:data:`FRAGMENT`); the
    anchor's end (C2 at the top, S1 at the bottom) is kept."""
    kept, named = list(bodies), list(names)
    heights = [top - bottom for top, bottom in kept]
    if len(kept) < 3:
        return kept, named
    typical = float(np.median(heights))
    if named[0] != "C2" and heights[0] < FRAGMENT * typical:
        kept, named = kept[1:], named[1:]
    if named[-1] != "S1" and kept[-1][0] - kept[-1][1] < FRAGMENT * typical:
        kept, named = kept[:-1], named[:-1]
    return kept, named


def name_bodies(
    bodies: Sequence[tuple[float, float]],
    z_range: tuple[float, float],
    description: str = "",
    dens_ratio: float | None = None,
    sacrum: SacrumCheckOf | None = None,
) -> Naming:
    """Name ``bodies`` (top to bottom) from an anchor really in the field, cross-checked by second cues.

    Anchors: C2 (the tallest bone at the top of the field: body and dens, its top inside the field) or the
    sacrum (the tallest bone at the bottom, its bottom inside the field, under bodies at lumbar spacing:
    :data:`LUMBAR_PITCH_MM`, and showing sacral anatomy in the image: ``sacrum(bodies)``, fused below its
    first body and the column turning backwards; without ``sacrum`` no sacrum is named). Second cues, all of which must
    agree: the bodies look like a vertebral column (discs thinner than bodies); every body has the height of
    its level (one scale factor for the patient); the region named by the body part or description (cervical,
    lumbar) is the region of the anchor, and a head/brain header has no names below :data:`HEAD_LOWEST`;
    a level range in the description ("C2-C5") matches the names; for
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
    if region == "lumbar":
        tops = [top for top, _ in bodies[-5:]]
        pitch = float(np.median(-np.diff(tops)))
        if pitch < LUMBAR_PITCH_MM:
            why = (
                f"{anchor} found, but the bodies above it are {pitch:.0f} mm apart, closer than lumbar vertebrae "
                f"(at least {LUMBAR_PITCH_MM:.0f} mm): it is not a sacrum"
            )
            return Naming(None, why, QcStatus.UNRELIABLE)
        check = sacrum(bodies) if sacrum is not None else SacrumCheck(False, "its sacral anatomy was not examined")
        if not check.found:
            return Naming(None, f"{anchor} found, but {check.why}", QcStatus.UNRELIABLE)
        anchor = f"{SACRUM_ANCHOR}: {check.why}"
    return confirm(bodies, names, anchor, region, description, dens_ratio)


def confirm(
    bodies: Sequence[tuple[float, float]],
    names: list[str] | None,
    anchor: str,
    region: str,
    description: str = "",
    dens_ratio: float | None = None,
) -> Naming:
    """The names given by ``anchor`` (``region``: cervical or lumbar) if every second cue agrees, else why not."""
    if names is None:
        return Naming(
            None, f"{anchor} found, but the bodies below it are more than the spine holds", QcStatus.UNRELIABLE
        )
    doubt = _regular(bodies) or heights_consistent(
        bodies[1:] if region == "cervical" else bodies[:-1], names[1:] if region == "cervical" else names[:-1]
    )
    if not doubt and region == "cervical" and dens_ratio is not None and dens_ratio > DENS_MAX_RATIO:
        doubt = (
            f"its upper part is not narrower than its body ({dens_ratio:.2f} of its width): no dens is seen, "
            "it may be two bodies taken for one"
        )
    stated = region_of(description)
    if not doubt and stated == "head" and names[-1] in SPINE and SPINE.index(names[-1]) > SPINE.index(HEAD_LOWEST):
        doubt = (
            f"the header says head ({description.strip()}), whose field ends near {HEAD_LOWEST}, "
            f"while the bodies found run to {names[-1]}"
        )
    elif not doubt and stated is not None and stated != "head" and stated != region:
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
