"""Body region from BodyPartExamined and descriptions (English and Japanese, vertebral level ranges).

Vertebral levels are not in image headers; a region is only named when a header names it. "T1"/"T2"
alone are weightings, not levels, so thoracic levels are read only as "Th<n>" or inside a range such
as "C7-T3".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from workers.inventory import vocabulary as v

SEGMENTS = ("C", "T", "L", "S")
_SEGMENT_NAMES = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}
_JOINED = {
    ("C", "T"): "cervicothoracic",
    ("T", "L"): "thoracolumbar",
    ("L", "S"): "lumbosacral",
}
_BODY_PART = {
    "CSPINE": "C",
    "CERVICALSPINE": "C",
    "NECK": "C",
    "TSPINE": "T",
    "THORACICSPINE": "T",
    "LSPINE": "L",
    "LUMBARSPINE": "L",
    "SSPINE": "S",
    "SACRUM": "S",
    "CTSPINE": "CT",
    "TLSPINE": "TL",
    "LSSPINE": "LS",
    "WHOLESPINE": "CTLS",
    "WSPINE": "CTLS",
}
_MAX_LEVEL = {"C": 7, "T": 12, "L": 5, "S": 5}
_RANGE = re.compile(
    r"(?<![A-Z0-9])(C|TH|T|L|S)\s?(\d{1,2})\s*(?:-|/|~|〜|～|TO|–)\s*(C|TH|T|L|S)?\s?(\d{1,2})(?![0-9A-Z])"
)
_SINGLE_TH = re.compile(r"(?<![A-Z0-9])TH\s?(\d{1,2})(?![0-9])")


@dataclass(frozen=True)
class Level:
    """A vertebra, e.g. Level("C", 7)."""

    segment: str
    number: int

    def __post_init__(self) -> None:
        if self.segment not in SEGMENTS:
            raise ValueError(f"segment must be one of {SEGMENTS}, got {self.segment!r}")
        if not 1 <= self.number <= _MAX_LEVEL[self.segment]:
            raise ValueError(f"number for segment {self.segment} out of range: {self.number!r}")

    @property
    def ordinal(self) -> int:
        """Position along the spine, C1 = 1 ... S5."""
        offset = {"C": 0, "T": 7, "L": 19, "S": 24}[self.segment]
        return offset + self.number

    def __str__(self) -> str:
        return f"{self.segment}{self.number}"


def _level(segment: str, number: int) -> Level | None:
    seg = "T" if segment == "TH" else segment
    try:
        return Level(seg, number)
    except ValueError:
        return None


def level_range(texts: list[str]) -> tuple[Level, Level] | None:
    """The first vertebral range named in the texts ("C7-T3", "Th1/2", "頚椎C5-C7"), or None."""
    for raw in texts:
        t = unicodedata.normalize("NFKC", raw).upper()
        match = _RANGE.search(t)
        if match:
            first = _level(match.group(1), int(match.group(2)))
            second = _level(match.group(3) or match.group(1), int(match.group(4)))
            if first and second:
                return (first, second) if first.ordinal <= second.ordinal else (second, first)
        single = _SINGLE_TH.search(t)
        if single:
            level = _level("TH", int(single.group(1)))
            if level:
                return (level, level)
    return None


def _segments_named(texts: list[str]) -> set[str]:
    found: set[str] = set()
    if v.any_match(v.WHOLE_SPINE, texts):
        found |= {"C", "T", "L", "S"}
    for segment, pattern in (("C", v.CERVICAL), ("T", v.THORACIC), ("L", v.LUMBAR), ("S", v.SACRAL)):
        if v.any_match(pattern, texts):
            found.add(segment)
    return found


def _name(segments: set[str]) -> str:
    ordered = [s for s in SEGMENTS if s in segments]
    if len(ordered) >= 3 and ordered == list(SEGMENTS[SEGMENTS.index(ordered[0]) :][: len(ordered)]):
        return "whole spine" if ordered[0] == "C" else f"{_SEGMENT_NAMES[ordered[0]]} to {_SEGMENT_NAMES[ordered[-1]]}"
    if len(ordered) == 2 and tuple(ordered) in _JOINED:
        return _JOINED[(ordered[0], ordered[1])]
    return " and ".join(_SEGMENT_NAMES[s] for s in ordered)


def region_of(body_part: str, texts: list[str], fallback_texts: list[str] | None = None) -> str | None:
    """Free-text region ("cervicothoracic", "lumbar", "brain", "spine", …) or None when unknown."""
    normalised = [unicodedata.normalize("NFKC", t).upper() for t in texts if t]
    segments = _segments_named(normalised)
    levels = level_range(normalised)
    if levels is not None:
        first, last = levels
        segments |= {
            s for s in SEGMENTS if SEGMENTS.index(first.segment) <= SEGMENTS.index(s) <= SEGMENTS.index(last.segment)
        }
    part = re.sub(r"[^A-Z]", "", unicodedata.normalize("NFKC", body_part).upper())
    segments |= set(_BODY_PART.get(part, ""))
    brain = part in ("BRAIN", "HEAD", "SKULL") or v.any_match(v.BRAIN, normalised)
    if segments:
        name = _name(segments)
        return f"brain and {name}" if brain else name
    if brain:
        return "brain"
    if "SPINE" in part or v.any_match(v.SPINE, normalised):
        return "spine"
    if fallback_texts:
        return region_of("", fallback_texts)
    if part:
        return part.lower()
    return None
