"""The ``when`` part of a routing rule: conditions on the study, the association, the series and the results.

Every condition that is given must hold (logical AND); an empty ``when`` matches every study. Each check
returns ``(holds, reason)`` so that a dry run and the logs can say why a rule matched or not. Values of
patient attributes are never shown in reasons.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from node.routing.values import ValueTest, shown

if TYPE_CHECKING:
    from node.routing.facts import StudyFacts

Check = tuple[bool, str]

GRADES: tuple[str, ...] = ("NONE", "REFERENCE", "SUSPECTED", "STRONGLY_SUSPECTED", "DEFINITE", "CONFIRMED")
"""Grade codes of criteria.md, lowest first."""

GRADED_RESULTS: tuple[str, ...] = ("csf_leak", "ich", "ich_dx")
EXAMS: tuple[str, ...] = ("spinal_mri", "ri_cisternography", "ct_myelography", "brain_mri")

_TAG_RE = re.compile(r"^\(?\s*([0-9A-Fa-f]{4})\s*,?\s*([0-9A-Fa-f]{4})\s*\)?$")


def _is_patient_attribute(key: str) -> bool:
    if key.startswith("Patient") or key in {"OtherPatientIDs", "OtherPatientNames", "IssuerOfPatientID"}:
        return True
    from pydicom.datadict import dictionary_VR, tag_for_keyword  # the dictionary only once a rule names one

    tag = tag_for_keyword(key)
    if tag is None:
        return False
    try:
        return dictionary_VR(tag) == "PN"
    except KeyError:
        return False


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AttributeCondition(ValueTest):
    """A test on one DICOM attribute of the study's first instance, named by ``keyword`` or ``tag``.

    ``tag`` is ``"0018,0015"``, ``"(0018,0015)"`` or ``"00180015"``; private tags are looked up as
    ``"GGGG,EEEE"`` (upper-case hex) in the facts.
    """

    keyword: str | None = None
    tag: str | None = None

    @model_validator(mode="after")
    def _check_name(self) -> AttributeCondition:
        if (self.keyword is None) == (self.tag is None):
            raise ValueError("give exactly one of keyword or tag")
        from pydicom.datadict import tag_for_keyword

        if self.keyword is not None and tag_for_keyword(self.keyword) is None:
            raise ValueError(f"keyword {self.keyword!r} is not a DICOM attribute keyword")
        if self.tag is not None:
            match = _TAG_RE.match(self.tag)
            if match is None:
                raise ValueError(f"tag {self.tag!r} is not of the form GGGG,EEEE")
            self.tag = f"{match.group(1).upper()},{match.group(2).upper()}"
        return self

    @property
    def key(self) -> str:
        """The key of this attribute in :attr:`StudyFacts.attributes`."""
        if self.keyword is not None:
            return self.keyword
        assert self.tag is not None
        from pydicom.datadict import keyword_for_tag

        known = keyword_for_tag(int(self.tag.replace(",", ""), 16))
        return known or self.tag

    def check(self, facts: StudyFacts) -> Check:
        key = self.key
        value = facts.attributes.get(key)
        ok = self.holds(value)
        show = "<patient attribute>" if _is_patient_attribute(key) else shown(value)
        verb = "matches" if ok else "does not match"
        return ok, f"{key}={show} {verb} {self.describe()}"


class SeriesCondition(_Condition):
    """Holds when at least one series of the inventory passes every field test given here."""

    series_uid: ValueTest | None = None
    modality: ValueTest | None = None
    description: ValueTest | None = None
    images: ValueTest | None = None
    plane: ValueTest | None = None
    sequence: ValueTest | None = None
    fat_suppressed: ValueTest | None = None
    contrast: ValueTest | None = None
    b_values: ValueTest | None = None
    slice_thickness_mm: ValueTest | None = None
    region: ValueTest | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> SeriesCondition:
        if not self.tests():
            raise ValueError("a series condition needs at least one field (sequence, plane, b_values, ...)")
        return self

    def tests(self) -> dict[str, ValueTest]:
        tests = {name: getattr(self, name) for name in type(self).model_fields}
        return {name: test for name, test in tests.items() if test is not None}

    def describe(self) -> str:
        return ", ".join(f"{name} {test.describe()}" for name, test in self.tests().items())

    def check(self, facts: StudyFacts) -> Check:
        tests = self.tests()
        for index, series in enumerate(facts.inventory, start=1):
            if all(test.holds(series.get(name)) for name, test in tests.items()):
                label = series.get("description") or series.get("series_uid") or f"#{index}"
                return True, f"series {shown(label)} has {self.describe()}"
        return False, f"no series with {self.describe()} (of {len(facts.inventory)} series)"


class GradeCondition(_Condition):
    """A test on a criteria grade: ``grade`` is ``csf_leak``, ``ich``, ``ich_dx`` or ``per_exam.<exam>``.

    A grade missing from the result counts as ``NONE`` (nothing that the rules count).
    """

    grade: str
    at_least: str | None = None
    at_most: str | None = None
    equals: str | None = None
    one_of: list[str] | None = None

    @field_validator("grade")
    @classmethod
    def _path(cls, value: str) -> str:
        head, _, exam = value.partition(".")
        if head in GRADED_RESULTS and not exam:
            return value
        if head == "per_exam" and exam in EXAMS:
            return value
        allowed = list(GRADED_RESULTS) + [f"per_exam.{e}" for e in EXAMS]
        raise ValueError(f"grade {value!r} is not one of {allowed}")

    @field_validator("at_least", "at_most", "equals")
    @classmethod
    def _code(cls, value: str | None) -> str | None:
        if value is not None and value not in GRADES:
            raise ValueError(f"{value!r} is not a grade code {list(GRADES)}")
        return value

    @field_validator("one_of")
    @classmethod
    def _codes(cls, values: list[str] | None) -> list[str] | None:
        if values is not None:
            if not values:
                raise ValueError("one_of must not be empty")
            for value in values:
                cls._code(value)
        return values

    @model_validator(mode="after")
    def _has_operator(self) -> GradeCondition:
        if all(getattr(self, n) is None for n in ("at_least", "at_most", "equals", "one_of")):
            raise ValueError(f"grade {self.grade!r} needs one of at_least, at_most, equals, one_of")
        return self

    def actual(self, results: dict[str, Any]) -> str:
        head, _, exam = self.grade.partition(".")
        node: Any = results.get(head)
        if exam:
            node = node.get(exam) if isinstance(node, dict) else None
        grade = node.get("grade") if isinstance(node, dict) else None
        return str(grade) if grade else "NONE"

    def check(self, facts: StudyFacts) -> Check:
        actual = self.actual(facts.results or {})
        if actual not in GRADES:
            return False, f"{self.grade} grade {actual!r} is not a grade code"
        rank = GRADES.index(actual)
        wanted = []
        ok = True
        if self.at_least is not None:
            ok &= rank >= GRADES.index(self.at_least)
            wanted.append(f">= {self.at_least}")
        if self.at_most is not None:
            ok &= rank <= GRADES.index(self.at_most)
            wanted.append(f"<= {self.at_most}")
        if self.equals is not None:
            ok &= actual == self.equals
            wanted.append(f"== {self.equals}")
        if self.one_of is not None:
            ok &= actual in self.one_of
            wanted.append(f"in {self.one_of}")
        verb = "meets" if ok else "does not meet"
        return ok, f"{self.grade} {actual} {verb} {' and '.join(wanted)}"


class ResultConditions(_Condition):
    """Conditions on the analysis results; a rule that has them waits for the results phase.

    ``flags``: each test must hold for at least one flag; a bare string means ``contains``.
    """

    grades: list[GradeCondition] = Field(default_factory=list)
    flags: list[ValueTest] = Field(default_factory=list)
    ebp_eligible: bool | None = None
    needs_confirmation: bool | None = None

    @field_validator("flags", mode="before")
    @classmethod
    def _flag_shorthand(cls, values: Any) -> Any:
        if isinstance(values, list):
            return [{"contains": v} if isinstance(v, str) else v for v in values]
        return values

    @model_validator(mode="after")
    def _not_empty(self) -> ResultConditions:
        if not (self.grades or self.flags) and self.ebp_eligible is None and self.needs_confirmation is None:
            raise ValueError("results needs grades, flags, ebp_eligible or needs_confirmation")
        return self

    def checks(self, facts: StudyFacts) -> list[Check]:
        results = facts.results or {}
        out = [grade.check(facts) for grade in self.grades]
        flags = list(facts.flags or [])
        for test in self.flags:
            hit = next((f for f in flags if test.holds(f)), None)
            if hit is not None:
                out.append((True, f"flag {shown(hit)} {test.describe()}"))
            else:
                out.append((False, f"no flag {test.describe()} (of {len(flags)} flags)"))
        if self.ebp_eligible is not None:
            ebp = results.get("ebp")
            actual = bool(ebp.get("eligible")) if isinstance(ebp, dict) else False
            out.append((actual == self.ebp_eligible, f"ebp eligible is {actual}, wanted {self.ebp_eligible}"))
        if self.needs_confirmation is not None:
            leak = results.get("csf_leak")
            actual = bool(leak.get("needs_confirmation")) if isinstance(leak, dict) else False
            out.append(
                (
                    actual == self.needs_confirmation,
                    f"needs_confirmation is {actual}, wanted {self.needs_confirmation}",
                )
            )
        return out


class When(_Condition):
    """All conditions of a rule; every one given must hold."""

    calling_aet: ValueTest | None = None
    called_aet: ValueTest | None = None
    attributes: list[AttributeCondition] = Field(default_factory=list)
    series: list[SeriesCondition] = Field(default_factory=list)
    results: ResultConditions | None = None

    @property
    def needs_results(self) -> bool:
        return self.results is not None

    def checks(self, facts: StudyFacts, *, with_results: bool) -> list[Check]:
        """Every check in order; result conditions only when ``with_results``."""
        out: list[Check] = []
        for label, test, value in (
            ("calling AE", self.calling_aet, facts.calling_aet),
            ("called AE", self.called_aet, facts.called_aet),
        ):
            if test is not None:
                ok = test.holds(value or None)
                verb = "matches" if ok else "does not match"
                out.append((ok, f"{label} {value!r} {verb} {test.describe()}"))
        out.extend(condition.check(facts) for condition in self.attributes)
        out.extend(condition.check(facts) for condition in self.series)
        if with_results and self.results is not None:
            out.extend(self.results.checks(facts))
        return out
