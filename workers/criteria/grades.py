"""The ordered grades of the rule book (criteria.md, "Grades are ordered").

``NONE < REFERENCE < SUSPECTED < STRONGLY_SUSPECTED < DEFINITE < CONFIRMED``. ``REFERENCE`` (参考) is
supportive only: it is shown, but it never raises another grade and never counts as abnormal.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class Grade(IntEnum):
    """A grade; compare with ``<``/``>``. ``str()`` gives the code used in JSON and the SR."""

    NONE = 0
    REFERENCE = 1  # 参考
    SUSPECTED = 2  # 疑
    STRONGLY_SUSPECTED = 3  # 強疑
    DEFINITE = 4  # 確実
    CONFIRMED = 5  # 確定

    def __str__(self) -> str:
        return self.name

    @property
    def is_abnormal(self) -> bool:
        """SUSPECTED or higher; NONE and REFERENCE are never abnormal."""
        return self >= Grade.SUSPECTED

    @classmethod
    def parse(cls, text: str) -> Grade:
        try:
            return cls[text]
        except KeyError:
            raise ValueError(f"unknown grade {text!r}") from None


def highest(grades: Iterable[Grade]) -> Grade:
    """The highest grade, NONE for none."""
    return max(grades, default=Grade.NONE)
