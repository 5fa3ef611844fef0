"""Value tests of routing conditions: ``equals``, ``one_of``, ``regex``, ``contains``, ``range``, ``present``.

A :class:`ValueTest` is plain data (no code in strings). Every operator that is set must hold. A list value
(a multi-valued DICOM attribute, the b-values of a series) satisfies ``equals``, ``one_of``, ``regex`` and
``range`` when any of its elements does; ``contains`` tests membership for a list and a substring for text.
Ranges are numeric or dates (TOML dates, ``YYYY-MM-DD`` or DICOM ``YYYYMMDD``); both bounds are inclusive.

In rule files a bare value is shorthand: ``sequence = "SSFP"`` means ``{equals = "SSFP"}`` and
``plane = ["axial", "sagittal"]`` means ``{one_of = [...]}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator

Scalar = bool | int | float | str | date
Bound = float | date | str

_MAX_SHOWN = 64


def parse_date(value: Any) -> date | None:
    """A date from a ``date``, ``datetime``, DICOM DA ``YYYYMMDD`` or ISO ``YYYY-MM-DD`` text; else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for fmt in ("%Y%m%d", "%Y-%m-%d", "%Y.%m.%d"):
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def shown(value: Any) -> str:
    """A short printable form of a value for reasons (long values are cut)."""
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


class Range(BaseModel):
    """Inclusive bounds, numeric or dates; at least one bound; both of the same kind; ``min <= max``."""

    model_config = ConfigDict(extra="forbid")

    min: Bound | None = None
    max: Bound | None = None

    @model_validator(mode="after")
    def _check(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("range needs min or max")
        kinds = set()
        for name in ("min", "max"):
            bound = getattr(self, name)
            if bound is None:
                continue
            if isinstance(bound, str):
                parsed = parse_date(bound)
                if parsed is None:
                    raise ValueError(f"{name}: {bound!r} is neither a number nor a date")
                setattr(self, name, parsed)
                bound = parsed
            kinds.add("date" if isinstance(bound, date) else "number")
        if len(kinds) > 1:
            raise ValueError(f"min {self.min!r} and max {self.max!r} must both be numbers or dates")
        if self.min is not None and self.max is not None and self.min > self.max:  # type: ignore[operator]
            raise ValueError(f"min {self.min!r} is greater than max {self.max!r}")
        return self

    @property
    def is_date(self) -> bool:
        return isinstance(self.min if self.min is not None else self.max, date)

    def holds(self, value: Any) -> bool:
        probe: float | date | None = parse_date(value) if self.is_date else _as_float(value)
        if probe is None:
            return False
        if self.min is not None and probe < self.min:  # type: ignore[operator]
            return False
        if self.max is not None and probe > self.max:  # type: ignore[operator]
            return False
        return True

    def describe(self) -> str:
        low = "" if self.min is None else str(self.min)
        high = "" if self.max is None else str(self.max)
        return f"range [{low}..{high}]"


def _scalar_equals(value: Any, expected: Scalar) -> bool:
    if isinstance(expected, bool):
        return isinstance(value, bool) and value is expected
    if isinstance(value, bool):
        return False
    if isinstance(expected, int | float):
        number = _as_float(value)
        return number is not None and number == float(expected)
    if isinstance(expected, date):
        return parse_date(value) == expected
    return str(value).strip() == expected


def _elements(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


class ValueTest(BaseModel):
    """Tests on one value; every operator that is set must hold; at least one operator is required."""

    model_config = ConfigDict(extra="forbid")

    equals: Scalar | None = None
    one_of: list[Scalar] | None = None
    regex: str | None = None
    contains: Scalar | None = None
    range: Range | None = None
    present: bool | None = None

    _pattern: re.Pattern[str] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, bool | int | float | str | date):
            return {"equals": data}
        if isinstance(data, list):
            return {"one_of": data}
        return data

    @model_validator(mode="after")
    def _check(self) -> ValueTest:
        if not self.operators():
            raise ValueError("a value test needs one of equals, one_of, regex, contains, range, present")
        if self.one_of is not None and not self.one_of:
            raise ValueError("one_of must not be empty")
        if self.regex is not None:
            try:
                self._pattern = re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        return self

    def operators(self) -> list[str]:
        names = ("equals", "one_of", "regex", "contains", "range", "present")
        return [name for name in names if getattr(self, name) is not None]

    def describe(self) -> str:
        parts = []
        if self.equals is not None:
            parts.append(f"equals {self.equals!r}")
        if self.one_of is not None:
            parts.append(f"one of {self.one_of!r}")
        if self.regex is not None:
            parts.append(f"regex /{self.regex}/")
        if self.contains is not None:
            parts.append(f"contains {self.contains!r}")
        if self.range is not None:
            parts.append(self.range.describe())
        if self.present is not None:
            parts.append("present" if self.present else "absent")
        return " and ".join(parts)

    def holds(self, value: Any) -> bool:
        """True when ``value`` passes every operator that is set (``None`` means absent)."""
        absent = value is None or value == "" or (isinstance(value, list | tuple) and not value)
        if self.present is not None and self.present == absent:
            return False
        if self.present is not None and len(self.operators()) == 1:
            return True
        if absent:
            return False
        elements = _elements(value)
        if self.equals is not None and not any(_scalar_equals(v, self.equals) for v in elements):
            return False
        if self.one_of is not None and not any(_scalar_equals(v, option) for v in elements for option in self.one_of):
            return False
        if self._pattern is not None and not any(self._pattern.search(str(v)) for v in elements):
            return False
        if self.contains is not None and not _contains(value, self.contains):
            return False
        if self.range is not None and not any(self.range.holds(v) for v in elements):
            return False
        return True


def _contains(value: Any, needle: Scalar) -> bool:
    if isinstance(value, str):
        return str(needle) in value
    if isinstance(value, Sequence):
        return any(_scalar_equals(v, needle) for v in value)
    return _scalar_equals(value, needle)
