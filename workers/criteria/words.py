"""The rule book's grades and exams as a reader says them: one vocabulary for the card, SR, worklist and text."""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
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


#: What each result of the criteria is, as its title on the worklist, the study page, the RIS and the analyse text
#: (the grade follows: "Intracranial hypotension on imaging: suspected"). The keys are the result names of the
#: criteria JSON (``per_exam`` exams also as ``per_exam.<exam>``, as the RIS names them).
_TITLES: Final[Mapping[str, str]] = {
    "csf_leak": "CSF leak",
    "spinal_mri": "CSF leak on spinal MRI",
    "ri_cisternography": "CSF leak on RI cisternography",
    "ct_myelography": "CSF leak on CT myelography",
    "brain_mri": "Brain MRI signs of CSF loss",
    "ich": "Intracranial hypotension on imaging",
    "ich_dx": "Intracranial hypotension diagnosis",
    "ebp_eligible": "Epidural blood patch eligible",
}
RESULT_TITLES: Final[Mapping[str, str]] = {
    **_TITLES,
    **{f"per_exam.{exam}": _TITLES[exam] for exam in EXAM_WORDS},
}

#: How a view says a result that is not graded (the grade code stays ``NONE``; the reason follows).
#: How a study's flags name an output that could not be assessed ("CT myelography: not assessable"); the
#: worklist, the demo and HL7 tell those flags from findings by it.
NOT_ASSESSABLE_SUFFIX = ": not assessable"

NOT_GRADED_WORDS: Final = "not graded"
#: The results whose "not graded" a one-line view (worklist badge, RIS conclusion) says: an exam's would repeat
#: the CSF-leak result's reason, ICH-DX's the ICH result's.
NOT_GRADED_HEADLINES: Final = ("csf_leak", "ich")


def result_title(name: str) -> str:
    """A result name as its title ("ich" -> "Intracranial hypotension on imaging"); an unknown one in words."""
    return RESULT_TITLES.get(name, name.replace("per_exam.", "").replace("_", " ").replace(".", " "))


def grade_words(code: str) -> str:
    """``"STRONGLY_SUSPECTED"`` -> ``"strongly suspected"``; an unknown code in lower case without underscores."""
    return GRADE_WORDS.get(code, code.replace("_", " ").lower())


#: Grade codes that are no abnormal finding (a reader need not act on them).
NOT_ABNORMAL: Final = ("NONE", "REFERENCE")


def reading_order(grades: Iterable[tuple[str, str]], not_graded: Container[str] = ()) -> list[tuple[str, str]]:
    """(result name, grade code) in the order a reader reads them: the abnormal grades first, then the results
    named in ``not_graded`` (their exams could not be assessed), then the rest, each part in the order given.
    Every view that lists grades (the analyse text, the RIS lines) lists them so."""

    def part(item: tuple[str, str]) -> int:
        name, code = item
        if name in not_graded:
            return 1
        return 2 if code in NOT_ABNORMAL else 0

    return sorted(grades, key=part)
