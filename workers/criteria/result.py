"""The result of the criteria engine and its JSON form (``spinenode criteria FILE --json``).

``to_json()`` gives the contract keys of architecture.md (ruleset, csf_leak, per_exam, ich, ich_dx, ebp)
and more: every finding with its grade, PATHWAY suggestions, DURO guidance and notes. Every grade lists
the findings it rests on (``index`` into the document's ``findings`` and the finding's ``id``) and the
rule IDs; ``needs_confirmation`` is true when any of those findings is automated. ``exams_performed``: the exams
the study holds (null when not known), so that a view lists only those exams' grades. Every grade also says whether
it is ``graded`` (:mod:`workers.criteria.grading`): false, with ``not_graded_reason`` in words, when its NONE rests
on nothing but exams that could not be assessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workers.criteria.context import StudyContext
from workers.criteria.findings import Finding, FindingsDocument
from workers.criteria.grades import Grade, highest
from workers.criteria.grading import CSF_EXAMS, GRADED, Grading
from workers.criteria.levels import LevelRange
from workers.criteria.rules_csf import Diagnosis, FindingGrade
from workers.criteria.rules_guidance import DuroGuidance, EbpResult, Suggestion
from workers.criteria.rules_ich import ICH_EXCLUSIONS, ICH_TABLE, IchDxResult, IchResult

#: Version of the rule set, written into every result and every SR.
RULESET_VERSION = "spinenode-criteria 1.0.0 (CSF-LEAK/ICH 2011 MHLW; EBP J007-2 2016)"

__all__ = ["CSF_EXAMS", "RULESET_VERSION", "CriteriaResult", "ExamGrade", "Grading"]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass(frozen=True)
class ExamGrade:
    """The CSF-LEAK grade of one exam: the highest of its findings."""

    exam: str
    grade: Grade
    rules: tuple[str, ...]
    supporting: tuple[FindingGrade, ...]
    reported: tuple[FindingGrade, ...]
    notes: tuple[str, ...]
    grading: Grading = GRADED

    @classmethod
    def of(cls, exam: str, graded: list[FindingGrade], grading: Grading = GRADED) -> ExamGrade:
        mine = [g for g in graded if g.finding.exam == exam]
        top = highest(g.grade for g in mine)
        supporting = tuple(g for g in mine if g.grade == top and top > Grade.NONE)
        reported = tuple(g for g in mine if g.reported)
        if supporting:  # the rule that gave each supporting finding its final grade
            rules = tuple(_unique([g.rules[-1] for g in supporting if g.rules]))
        else:  # NONE: the rules whose rows give NONE (subdural, technical failure, circulation)
            rules = tuple(_unique([r for g in reported for r in g.rules]))
        notes = tuple(_unique([f"findings[{g.index}]: {n}" for g in mine for n in g.notes]))
        return cls(exam, top, rules, supporting, reported, notes, grading)


def _levels(r: LevelRange | None) -> list[str] | None:
    return list(r.names) if r is not None else None


def finding_ref(index: int, finding: Finding) -> dict[str, Any]:
    """How a finding is cited in the result."""
    ref: dict[str, Any] = {
        "index": index,
        "id": finding.id,
        "exam": finding.exam,
        "kind": finding.kind,
        "levels": _levels(finding.level_range),
        "source": finding.source,
    }
    if finding.pattern is not None:
        ref["pattern"] = finding.pattern
    for key in ("series_uid", "sop_instance_uids", "study_date", "institution_name"):
        value = getattr(finding, key)
        if value is not None:
            ref[key] = value
    return ref


def graded_ref(g: FindingGrade) -> dict[str, Any]:
    ref = finding_ref(g.index, g.finding)
    ref.update(grade=str(g.grade), rules=list(g.rules))
    if g.also:
        ref["with_findings"] = list(g.also)
    return ref


@dataclass(frozen=True)
class CriteriaResult:
    """Everything :func:`workers.criteria.evaluate` concludes about one findings document."""

    ruleset: str
    document: FindingsDocument
    graded: tuple[FindingGrade, ...]
    csf_leak: Diagnosis
    per_exam: dict[str, ExamGrade]
    ich: IchResult
    ich_dx: IchDxResult
    ebp: EbpResult
    pathway: tuple[Suggestion, ...]
    duro: tuple[DuroGuidance, ...]
    duro_flags: tuple[str, ...]
    notes: tuple[str, ...]
    context: StudyContext | None = None
    csf_leak_grading: Grading = GRADED
    ich_grading: Grading = GRADED
    ich_dx_grading: Grading = GRADED

    @property
    def gradings(self) -> dict[str, Grading]:
        """Result name (``csf_leak``, ``ich``, ``ich_dx``, each exam, ``ebp_eligible``) -> whether it is graded."""
        out = {"csf_leak": self.csf_leak_grading, "ich": self.ich_grading, "ich_dx": self.ich_dx_grading}
        out.update((exam, eg.grading) for exam, eg in self.per_exam.items())
        out["ebp_eligible"] = self.ebp.grading
        return out

    def _automated(self, indices: list[int]) -> bool:
        return any(self.document.findings[i].source == "automated" for i in indices)

    @property
    def csf_leak_indices(self) -> list[int]:
        return sorted({i for g in self.csf_leak.supporting for i in (g.index, *g.also)})

    @property
    def csf_leak_needs_confirmation(self) -> bool:
        return self._automated(self.csf_leak_indices)

    def exam_needs_confirmation(self, exam: str) -> bool:
        eg = self.per_exam[exam]
        return self._automated([i for g in eg.supporting for i in (g.index, *g.also)])

    @property
    def ich_needs_confirmation(self) -> bool:
        return self._automated(list(self.ich.supporting))

    @property
    def ich_dx_needs_confirmation(self) -> bool:
        return self._automated(list(self.ich_dx.supporting))

    def _refs(self, indices: tuple[int, ...]) -> list[dict[str, Any]]:
        by_index = {g.index: g for g in self.graded}
        return [
            graded_ref(by_index[i]) if i in by_index else finding_ref(i, self.document.findings[i]) for i in indices
        ]

    def to_json(self) -> dict[str, Any]:
        per_exam = {
            exam: {
                "grade": str(eg.grade),
                "rules": list(eg.rules),
                "supporting": [graded_ref(g) for g in eg.supporting],
                "needs_confirmation": self.exam_needs_confirmation(exam),
                "reported": [graded_ref(g) for g in eg.reported],
                "notes": list(eg.notes),
                **eg.grading.to_json(),
            }
            for exam, eg in self.per_exam.items()
        }
        performed = self.context.exams_performed if self.context is not None else None
        return {
            "ruleset": self.ruleset,
            "exams_performed": sorted(performed) if performed is not None else None,
            "csf_leak": {
                "grade": str(self.csf_leak.grade),
                "rules": [self.csf_leak.rule],
                "supporting": [graded_ref(g) for g in self.csf_leak.supporting],
                "needs_confirmation": self.csf_leak_needs_confirmation,
                "notes": list(self.csf_leak.notes),
                **self.csf_leak_grading.to_json(),
            },
            "per_exam": per_exam,
            "ich": {
                "grade": str(self.ich.grade),
                "rules": list(self.ich.rules),
                "applicable": self.ich.applicable,
                "imaging_grade": str(self.ich.imaging_grade),
                "supporting": self._refs(self.ich.supporting),
                "excluded_by": self._refs(self.ich.excluded_by),
                "needs_confirmation": self.ich_needs_confirmation,
                "notes": list(self.ich.notes),
                **self.ich_grading.to_json(),
            },
            "ich_dx": {
                "grade": str(self.ich_dx.grade),
                "rules": list(self.ich_dx.rules),
                "missing": list(self.ich_dx.missing),
                "supporting": self._refs(self.ich_dx.supporting),
                "needs_confirmation": self.ich_dx_needs_confirmation,
                "notes": list(self.ich_dx.notes),
                **self.ich_dx_grading.to_json(),
            },
            "ebp": {
                "eligible": self.ebp.eligible,
                "rules": list(self.ebp.rules),
                "missing": list(self.ebp.missing),
                "claim_ready": self.ebp.claim_ready,
                "claim": [
                    {
                        "index": c.index,
                        "id": c.id,
                        "finding": c.description,
                        "grade": str(c.grade),
                        "rules": list(c.rules),
                        "series_uid": c.series_uid,
                        "sop_instance_uids": list(c.sop_instance_uids),
                        "study_date": c.study_date,
                        "institution_name": c.institution_name,
                    }
                    for c in self.ebp.claim
                ],
                "claim_missing": list(self.ebp.claim_missing),
                "needs_confirmation": self.ebp.needs_confirmation,
                "notes": list(self.ebp.notes),
                **self.ebp.grading.to_json(),
                "not_graded_reason": self.ebp.not_judged_reason,
            },
            "pathway": [{"rule": s.rule, "suggestion": s.text} for s in self.pathway],
            "duro": {
                "guidance": [
                    {
                        "rules": list(d.rules),
                        "findings": list(d.findings),
                        "window": list(d.window.names),
                        "look_first": list(d.look_first.names),
                        "thin_axial_ssfp_covers": d.ssfp_covered,
                        "suggestion": d.text,
                    }
                    for d in self.duro
                ],
                "flags": list(self.duro_flags),
            },
            "findings": [self._finding_json(i) for i in range(len(self.document.findings))],
            "notes": list(self.notes),
        }

    def _finding_json(self, index: int) -> dict[str, Any]:
        by_index = {g.index: g for g in self.graded}
        if index in by_index:
            return graded_ref(by_index[index])
        finding = self.document.findings[index]
        ref = finding_ref(index, finding)
        grade, rule = ICH_TABLE.get(finding.kind, (Grade.NONE, ""))
        ref.update(grade=str(grade), rules=[rule] if rule else [])
        if finding.kind in ICH_EXCLUSIONS:
            ref["rules"] = ["ICH (exclusion)"]
        return ref
