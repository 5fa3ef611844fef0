"""Spinal levels: vertebra names, disc levels and inclusive level ranges.

The findings document names the extent of a finding by its upper and lower vertebra (``C1``-``C7``,
``T1``-``T12``, ``L1``-``L5``, ``S1``). The Japanese sources write thoracic vertebrae as ``Th``
(``Th1``...``Th12``) and disc levels as ``C7/Th1``, ``Th1/2`` or ``Th12/L1``; both spellings map to the
same names here. A disc level means the two vertebrae around it. "Same site" (CSF-LEAK-DX-3) is an
overlap of two inclusive ranges after this mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERTEBRAE: tuple[str, ...] = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    *(f"L{i}" for i in range(1, 6)),
    "S1",
)
_INDEX: dict[str, int] = {name: i for i, name in enumerate(VERTEBRAE)}
_VERTEBRA_RE = re.compile(r"^(C|TH|T|L|S)(\d{1,2})$")


def vertebra_index(token: str) -> int:
    """Position of a vertebra (``C1`` = 0 ... ``S1`` = 24); ``Th`` is read as ``T``.

    Raises ``ValueError`` naming the token when it is not a vertebra.
    """
    match = _VERTEBRA_RE.match(token.strip().upper())
    if match is None:
        raise ValueError(f"unknown level {token!r}")
    region, number = match.group(1), match.group(2)
    name = ("T" if region == "TH" else region) + str(int(number))
    if name not in _INDEX or number.startswith("0"):
        raise ValueError(f"unknown level {token!r}")
    return _INDEX[name]


def parse_level(token: object) -> tuple[int, int]:
    """Parse one level token into an inclusive (upper, lower) pair of vertebra indices.

    ``"T2"`` -> (T2, T2); disc levels ``"C7/T1"``, ``"C7/Th1"``, ``"Th1/2"`` (short form: same region),
    ``"Th12/L1"`` -> the two vertebrae around the disc. The two vertebrae of a disc level must be
    adjacent.
    """
    if not isinstance(token, str):
        raise ValueError(f"level must be a string, got {token!r}")
    text = token.strip()
    if "/" not in text:
        index = vertebra_index(text)
        return index, index
    parts = text.split("/")
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise ValueError(f"unknown level {token!r}")
    upper_text, lower_text = parts[0].strip(), parts[1].strip()
    upper = vertebra_index(upper_text)
    if lower_text.isdigit():
        region = VERTEBRAE[upper].rstrip("0123456789")
        lower_text = region + lower_text
    try:
        lower = vertebra_index(lower_text)
    except ValueError:
        raise ValueError(f"unknown level {token!r}") from None
    if abs(upper - lower) != 1:
        raise ValueError(f"disc level {token!r} does not join two adjacent vertebrae")
    return min(upper, lower), max(upper, lower)


@dataclass(frozen=True, order=True)
class LevelRange:
    """An inclusive range of vertebrae, ``upper`` (cranial) to ``lower`` (caudal), as indices."""

    upper: int
    lower: int

    def __post_init__(self) -> None:
        for name in ("upper", "lower"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(VERTEBRAE):
                raise ValueError(f"LevelRange.{name}: not a vertebra index: {value!r}")
        if self.upper > self.lower:
            raise ValueError(f"LevelRange: upper {self.upper} is below lower {self.lower}")

    @classmethod
    def parse(cls, first: str, last: str | None = None) -> LevelRange:
        """Range from one or two level tokens in any order (``"T2", "C7"`` -> C7-T2)."""
        spans = [parse_level(first)] + ([parse_level(last)] if last is not None else [])
        return cls(min(s[0] for s in spans), max(s[1] for s in spans))

    def overlaps(self, other: LevelRange) -> bool:
        """True when the two inclusive ranges share at least one vertebra."""
        return self.upper <= other.lower and other.upper <= self.lower

    def intersection(self, other: LevelRange) -> LevelRange | None:
        if not self.overlaps(other):
            return None
        return LevelRange(max(self.upper, other.upper), min(self.lower, other.lower))

    def contains(self, other: LevelRange) -> bool:
        return self.upper <= other.upper and other.lower <= self.lower

    @property
    def names(self) -> tuple[str, str]:
        return VERTEBRAE[self.upper], VERTEBRAE[self.lower]

    def __str__(self) -> str:
        upper, lower = self.names
        return upper if upper == lower else f"{upper}-{lower}"


#: DURO-LOC-1: spontaneous ventral dural defects lie mostly between C7/Th1 and Th2/Th3 (C7-T3).
DURO_PRIOR_WINDOW = LevelRange.parse("C7", "T3")
#: DURO-PROTO-1: second axial steady-state block when nothing is found in C7-T3.
DURO_SECOND_WINDOW = LevelRange.parse("T3", "T6")
#: DURO-MSAM-1/2: anterior-horn hyperintensity at C3, sometimes C2-C4.
MSAM_ANTERIOR_HORN_WINDOW = LevelRange.parse("C2", "C4")
