"""What the study shows, as typed objects every view reads: coded findings with a severity, the outputs that
could not be assessed, and protocol notes.

A :class:`ReportedFinding` is one abnormal automated output (cord compression, a marrow lesion with its ADC
verdict, epidural fluid, anterior-horn signal, the MSAM flag, an abnormal criteria grade), built once by
:func:`workers.results.findings_build.build_findings` and then shown unchanged on the card, in the SR, on the
worklist, the study page and the API. Outputs whose QC verdict is not ``ok`` are never findings: they are
:class:`NotAssessable` with the reason. :class:`ProtocolNote` is a missing or doubtful acquisition, in words,
marked ``relevant`` where it matters for what the study is about. :class:`NotGraded` is a criteria result whose
exams could not be assessed: the views say "not graded" and why, never "none".

The JSON form (:meth:`FindingsReport.as_json`) is stored with each result and served by the API; it is read
back with :meth:`FindingsReport.from_json`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydicom.sr.coding import Code

from workers.criteria.words import NOT_GRADED_WORDS, result_title


class Severity(StrEnum):
    """How much a finding matters for the reading order: ``severe`` raises the priority to urgent."""

    SEVERE = "severe"
    MODERATE = "moderate"
    MILD = "mild"

    @property
    def rank(self) -> int:
        return {"severe": 0, "moderate": 1, "mild": 2}[self.value]


class Review(StrEnum):
    """What a radiologist said about an automated finding."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class FindingKind(StrEnum):
    CORD_COMPRESSION = "cord_compression"
    MARROW_LESION = "marrow_lesion"
    EPIDURAL_FLUID = "epidural_fluid"
    ANTERIOR_HORN = "anterior_horn_signal"
    MSAM = "msam"
    CSF_LEAK = "csf_leak"
    INTRACRANIAL_HYPOTENSION = "intracranial_hypotension"


#: Why nothing was assessed when no analysis applied at all.
NO_ANALYSIS_WORDS = "no automated analysis applies to these series"

#: A confidence below this is shown as "low confidence" (and never as severe).
LOW_CONFIDENCE = 0.55


def _code_json(code: Code) -> dict[str, str]:
    return {"value": code.value, "scheme": code.scheme_designator, "meaning": code.meaning}


def _code(data: Mapping[str, Any]) -> Code:
    return Code(str(data["value"]), str(data["scheme"]), str(data["meaning"]))


@dataclass(frozen=True)
class FindingValue:
    """A number that belongs to a finding (compression percent, ADC), with its concept and UCUM unit."""

    concept: Code
    value: float
    unit: str
    label: str

    def __post_init__(self) -> None:
        if self.value != self.value:
            raise ValueError(f"value of {self.label!r} is NaN")
        if not self.unit:
            raise ValueError(f"unit of {self.label!r} must not be empty")


@dataclass(frozen=True)
class ReportedFinding:
    """One coded finding. ``key`` names it across revisions (review decisions and SR tracking UIDs use it)."""

    key: str
    kind: FindingKind
    headline: str
    severity: Severity
    concept: Code
    sites: tuple[Code, ...] = ()
    levels: tuple[str, ...] = ()
    detail: str = ""
    values: tuple[FindingValue, ...] = ()
    verdict: Code | None = None
    rules: tuple[str, ...] = ()
    confidence: float = 1.0
    review: Review = Review.PENDING
    reviewable: bool = True
    candidate_key: str | None = None
    series_uid: str = ""
    sop_instance_uids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.key or not self.headline.strip():
            raise ValueError(f"a finding needs a key and a headline, got {self.key!r}, {self.headline!r}")
        if not isinstance(self.severity, Severity):
            raise TypeError(f"severity must be a Severity, got {self.severity!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence of {self.key!r} must be in [0, 1], got {self.confidence}")

    @property
    def low_confidence(self) -> bool:
        return self.confidence < LOW_CONFIDENCE

    @property
    def needs_confirmation(self) -> bool:
        """A radiologist has not confirmed it yet, or (when it follows from other findings, ``reviewable`` false)
        not all the findings it rests on; the views say so beside the headline."""
        return self.review is Review.PENDING

    @property
    def label(self) -> str:
        """The headline with its qualifiers, as the worklist and the card show it."""
        extra = []
        if self.low_confidence:
            extra.append("low confidence")
        if self.review is Review.CONFIRMED:
            extra.append("confirmed")
        return self.headline + (f" ({', '.join(extra)})" if extra else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind.value,
            "headline": self.headline,
            "label": self.label,
            "detail": self.detail,
            "severity": self.severity.value,
            "code": _code_json(self.concept),
            "sites": [_code_json(s) for s in self.sites],
            "levels": list(self.levels),
            "values": [
                {"code": _code_json(v.concept), "value": v.value, "unit": v.unit, "label": v.label} for v in self.values
            ],
            "verdict": _code_json(self.verdict) if self.verdict is not None else None,
            "rules": list(self.rules),
            "confidence": round(self.confidence, 3),
            "low_confidence": self.low_confidence,
            "review": self.review.value,
            "reviewable": self.reviewable,
            "needs_confirmation": self.needs_confirmation,
            "candidate_key": self.candidate_key,
            "series_uid": self.series_uid,
            "sop_instance_uids": list(self.sop_instance_uids),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReportedFinding:
        return cls(
            key=str(data["key"]),
            kind=FindingKind(data["kind"]),
            headline=str(data["headline"]),
            severity=Severity(data["severity"]),
            concept=_code(data["code"]),
            sites=tuple(_code(s) for s in data.get("sites") or ()),
            levels=tuple(data.get("levels") or ()),
            detail=str(data.get("detail") or ""),
            values=tuple(
                FindingValue(_code(v["code"]), float(v["value"]), str(v["unit"]), str(v["label"]))
                for v in data.get("values") or ()
            ),
            verdict=_code(data["verdict"]) if data.get("verdict") else None,
            rules=tuple(data.get("rules") or ()),
            confidence=float(data.get("confidence", 1.0)),
            review=Review(data.get("review", "pending")),
            reviewable=bool(data.get("reviewable", True)),
            candidate_key=data.get("candidate_key"),
            series_uid=str(data.get("series_uid") or ""),
            sop_instance_uids=tuple(data.get("sop_instance_uids") or ()),
        )


@dataclass(frozen=True)
class NotAssessable:
    """An output the node could not trust (QC not ok, or a step that failed), with the reason in words."""

    what: str
    reason: str
    series_uid: str = ""

    def __post_init__(self) -> None:
        if not self.what.strip() or not self.reason.strip():
            raise ValueError(f"not assessable needs what and why, got {self.what!r}, {self.reason!r}")

    @property
    def text(self) -> str:
        return f"{self.what}: not assessable: {self.reason}"

    def as_json(self) -> dict[str, str]:
        return {"what": self.what, "reason": self.reason, "series_uid": self.series_uid, "text": self.text}


@dataclass(frozen=True)
class NotGraded:
    """A criteria result (``csf_leak``, ``ich``, ``ich_dx`` or an exam) that is not graded, and why in words."""

    result: str
    reason: str
    exam_absent: bool = False
    """True: the study holds none of the exams the result rests on; no failure to flag on a worklist row."""

    def __post_init__(self) -> None:
        if not self.result.strip() or not self.reason.strip():
            raise ValueError(f"not graded needs the result and why, got {self.result!r}, {self.reason!r}")

    @property
    def title(self) -> str:
        return result_title(self.result)

    @property
    def text(self) -> str:
        """ "CSF leak: not graded: CT myelography could not be assessed: metal artefact on 9 slices" """
        return f"{self.title}: {NOT_GRADED_WORDS}: {self.reason}"

    def as_json(self) -> dict[str, str | bool]:
        return {"result": self.result, "reason": self.reason, "text": self.text, "exam_absent": self.exam_absent}


@dataclass(frozen=True)
class ProtocolNote:
    """A protocol gap in plain words; ``relevant`` when it matters for what the study shows or asks."""

    rule: str
    text: str
    relevant: bool

    def as_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "text": self.text, "relevant": self.relevant}


@dataclass(frozen=True)
class FindingsReport:
    """Everything the views show above the grades, most severe first."""

    findings: tuple[ReportedFinding, ...] = ()
    rejected: tuple[ReportedFinding, ...] = ()
    not_assessable: tuple[NotAssessable, ...] = ()
    notes: tuple[ProtocolNote, ...] = field(default_factory=tuple)
    not_graded: tuple[NotGraded, ...] = ()
    nothing_assessed: bool = False
    """No automated output passed its quality check: no analysis applied, or every output failed or was
    unreliable (a report stored before this was known reads false)."""

    @property
    def headlines(self) -> list[str]:
        """One line per finding, for flags, routing and the worklist."""
        return [f.label for f in self.findings]

    @property
    def no_finding_words(self) -> str:
        """What the views say when nothing abnormal was found: never a plain "no abnormal finding" when some
        output could not be assessed, since that part of the study was not read, nor any "no abnormal finding"
        when nothing could be assessed at all."""
        if self.nothing_assessed:
            if not self.not_assessable:
                why = NO_ANALYSIS_WORDS
            elif any(not n.series_uid for n in self.not_assessable):  # a step failed, not only quality checks
                why = "the analysis could not be completed"
            else:
                why = "no output passed its quality check"
            return f"Nothing could be assessed automatically: {why}"
        if self.not_assessable:
            return "No abnormal finding in the outputs that could be assessed"
        return "No abnormal finding from the automated analysis"

    @property
    def not_assessable_lines(self) -> list[str]:
        """One line per output and reason: the same verdict on several series (the views of an RI study) is
        said once, with how many series it concerns."""
        counts: dict[str, int] = {}
        for item in self.not_assessable:
            counts[item.text] = counts.get(item.text, 0) + 1
        return [text + (f" ({n} series)" if n > 1 else "") for text, n in counts.items()]

    def not_graded_of(self, result: str) -> NotGraded | None:
        """Why ``result`` (``csf_leak``, ``ich``, ...) is not graded, or None when it is."""
        return next((n for n in self.not_graded if n.result == result), None)

    @property
    def relevant_notes(self) -> list[ProtocolNote]:
        return [n for n in self.notes if n.relevant]

    @property
    def priority(self) -> str | None:
        """``urgent`` when a severe finding with enough confidence is not rejected; None otherwise."""
        if any(f.severity is Severity.SEVERE and not f.low_confidence for f in self.findings):
            return "urgent"
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "findings": [f.as_json() for f in self.findings],
            "rejected": [f.as_json() for f in self.rejected],
            "not_assessable": [n.as_json() for n in self.not_assessable],
            "protocol_notes": [n.as_json() for n in self.notes],
            "not_graded": [n.as_json() for n in self.not_graded],
            "nothing_assessed": self.nothing_assessed,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> FindingsReport:
        if not data:
            return cls()
        return cls(
            findings=tuple(ReportedFinding.from_json(f) for f in data.get("findings") or ()),
            rejected=tuple(ReportedFinding.from_json(f) for f in data.get("rejected") or ()),
            not_assessable=tuple(
                NotAssessable(str(n["what"]), str(n["reason"]), str(n.get("series_uid") or ""))
                for n in data.get("not_assessable") or ()
            ),
            notes=tuple(
                ProtocolNote(str(n["rule"]), str(n["text"]), bool(n.get("relevant")))
                for n in data.get("protocol_notes") or ()
            ),
            not_graded=tuple(
                NotGraded(str(n["result"]), str(n["reason"]), bool(n.get("exam_absent")))
                for n in data.get("not_graded") or ()
            ),
            nothing_assessed=bool(data.get("nothing_assessed")),
        )


def ordered(findings: Sequence[ReportedFinding]) -> tuple[ReportedFinding, ...]:
    """Most severe first; low-confidence findings after confident ones of the same severity."""
    return tuple(sorted(findings, key=lambda f: (f.severity.rank, f.low_confidence)))
