"""Whether a grade rests on anything that was assessed.

A grade NONE means "nothing that the rules count". When the only exams it could rest on could not be assessed
(every automated output failed or was unreliable, or no analysis applies) and nobody entered a finding of them,
NONE would read as "no leak" although nothing was read: such a result is **not graded**. The grade code stays
``NONE`` (the contract); :class:`Grading` says ``graded`` false and why, and every view says "not graded" with
the reason. A grade above NONE, or one that rests on a radiologist's or an imported finding, stays a grade.
A grade that is given while some exam could not be assessed lists that exam too (``unassessed``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workers.criteria.context import ExamNotAssessed, StudyContext
from workers.criteria.findings import Finding
from workers.criteria.grades import Grade
from workers.criteria.words import EXAM_WORDS

#: The exams the CSF-LEAK criteria grade one by one, and the exam the ICH criteria read.
CSF_EXAMS: tuple[str, ...] = ("spinal_mri", "ri_cisternography", "ct_myelography")
ICH_EXAM = "brain_mri"


@dataclass(frozen=True)
class Grading:
    """``graded`` false: the grade is NONE only because the exams in ``unassessed`` could not be assessed."""

    graded: bool = True
    unassessed: tuple[ExamNotAssessed, ...] = ()

    def __post_init__(self) -> None:
        if not self.graded and not self.unassessed:
            raise ValueError("a result that is not graded needs the exams that could not be assessed")

    @property
    def reason(self) -> str:
        """The exams that could not be assessed, and why, in words ("" when every exam was); several exams the
        study does not hold are said at once ("no spinal MRI, RI cisternography or CT myelography in the study")."""
        if len(self.unassessed) > 1 and self.exam_absent:
            names = [EXAM_WORDS[u.exam] for u in self.unassessed]
            names = [n if n[:2].isupper() else n[:1].lower() + n[1:] for n in names]
            return f"no {', '.join(names[:-1])} or {names[-1]} in the study"
        return "; ".join(u.text for u in self.unassessed)

    @property
    def exam_absent(self) -> bool:
        """Not graded only because the study holds none of the exams it rests on (a spine study has no brain MRI)."""
        return not self.graded and all(not u.in_study for u in self.unassessed)

    def to_json(self) -> dict[str, Any]:
        """The keys added to a grade of the criteria JSON (its ``grade`` stays the code)."""
        return {
            "graded": self.graded,
            "not_graded_reason": "" if self.graded else self.reason,
            "exams_not_assessed": [u.to_json() for u in self.unassessed],
        }


GRADED = Grading()


def _unassessed(
    exams: Sequence[str], findings: Sequence[Finding], context: StudyContext | None
) -> list[ExamNotAssessed]:
    """The exams among ``exams`` that could not be assessed and of which the document holds no finding (a
    finding of an exam, from a person or from an output that passed its check, means it was read)."""
    if context is None:
        return []
    read = {f.exam for f in findings}
    return [u for exam in exams if exam not in read and (u := context.not_assessed(exam)) is not None]


def exam_grading(exam: str, findings: Sequence[Finding], context: StudyContext | None) -> Grading:
    """One exam: not graded when it could not be assessed and nobody recorded a finding of it."""
    unassessed = _unassessed((exam,), findings, context)
    return Grading(False, tuple(unassessed)) if unassessed else GRADED


def csf_grading(grade: Grade, findings: Sequence[Finding], context: StudyContext | None) -> Grading:
    """CSF-LEAK-DX: not graded when it is NONE, no CSF-leak exam has a finding, and every CSF-leak exam the study
    holds could not be assessed."""
    unassessed = tuple(_unassessed(CSF_EXAMS, findings, context))
    performed = set(context.exams_performed or ()) if context is not None else set()
    read = any(f.exam in CSF_EXAMS for f in findings)
    if not unassessed:
        # a study whose exams are known and hold none that can show a leak (a brain MRI alone): nothing was read,
        # so its NONE is not graded, as ICH is on a study without a brain MRI
        known = context is not None and context.exams_performed is not None
        if known and not performed & set(CSF_EXAMS) and not read and grade == Grade.NONE:
            return Grading(False, tuple(ExamNotAssessed.absent(exam) for exam in CSF_EXAMS))
        return GRADED
    assessed = (performed & set(CSF_EXAMS)) - {u.exam for u in unassessed}
    return Grading(grade > Grade.NONE or read or bool(assessed), unassessed)


def ich_grading(grade: Grade, applicable: bool, findings: Sequence[Finding], context: StudyContext | None) -> Grading:
    """ICH: not graded when it is NONE and the brain MRI could not be assessed, or the study holds none (its exams
    are known and a brain MRI is not among them), with no brain finding recorded."""
    unassessed = tuple(_unassessed((ICH_EXAM,), findings, context))
    performed = context.exams_performed if context is not None else None
    if not unassessed and performed is not None and ICH_EXAM not in performed:
        if not any(f.exam == ICH_EXAM for f in findings):
            unassessed = (ExamNotAssessed.absent(ICH_EXAM),)
    if not unassessed:
        return GRADED
    return Grading(grade > Grade.NONE or not applicable, unassessed)


def ich_dx_grading(grade: Grade, ich: Grading) -> Grading:
    """ICH-DX: a NONE is not graded when the imaging grade it needs is not (a clinical premise alone stays)."""
    if ich.graded:
        return GRADED
    return Grading(grade > Grade.NONE, ich.unassessed)
