"""The rule book's grades and exams as a reader says them: one vocabulary for the card, SR, worklist and text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: Grade codes (``str(Grade)``, and the blood-patch verdict) in words.
GRADE_WORDS: Final[Mapping[str, str]] = {
    "NONE": "none",
    "REFERENCE": "reference only",
    "SUSPECTED": "suspected",
    "STRONGLY_SUSPECTED": "strongly suspected",
    "DEFINITE": "definite",
    "CONFIRMED": "confirmed",
    "ELIGIBLE": "eligible",
}

#: The exams the CSF-leak criteria grade one by one.
EXAM_WORDS: Final[Mapping[str, str]] = {
    "spinal_mri": "Spinal MRI",
    "ri_cisternography": "RI cisternography",
    "ct_myelography": "CT myelography",
    "brain_mri": "Brain MRI",
}


def grade_words(code: str) -> str:
    """``"STRONGLY_SUSPECTED"`` -> ``"strongly suspected"``; an unknown code in lower case without underscores."""
    return GRADE_WORDS.get(code, code.replace("_", " ").lower())
