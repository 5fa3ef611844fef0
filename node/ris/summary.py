"""What the delivery code hands to the RIS senders: :class:`ReportSummary`, a plain validated value."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from node.routing.conditions import GRADES
from node.routing.rules import Priority
from workers.criteria.words import (
    NOT_ABNORMAL,
    NOT_GRADED_HEADLINES,
    NOT_GRADED_WORDS,
    grade_words,
    reading_order,
    result_title,
)

_UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def check_uid(name: str, value: str) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a DICOM UID (digits and dots, <= 64)."""
    if not isinstance(value, str) or len(value) > 64 or not _UID_RE.match(value):
        raise ValueError(f"{name}: {value!r} is not a DICOM UID")


@dataclass(frozen=True)
class ReportSummary:
    """The result of one study as sent to a RIS.

    ``patient_key``: the pseudonymous key. ``patient_id``/``patient_name``: the DICOM Patient ID and name, sent
    only to endpoints with ``patient_id = "dicom"``. ``flags``: the findings' headlines first, in words.
    ``grades``: result name -> grade code (``{"csf_leak": "DEFINITE", "ich": "NONE"}``), in report order.
    ``amended``: the report replaces an earlier one (HL7 result status C, FHIR status ``amended``).
    ``not_graded``: result name -> why it is not graded, in words (its exams could not be assessed: its grade
    code is NONE, but it is sent as "not graded" with the reason, never as "none").
    """

    study_instance_uid: str
    accession_number: str
    patient_key: str
    study_date: date | None
    grades: dict[str, str]
    flags: list[str] = field(default_factory=list)
    priority: Priority = Priority.ROUTINE
    sr_sop_instance_uid: str = ""
    amended: bool = False
    patient_id: str = ""
    patient_name: str = ""
    not_graded: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_uid("study_instance_uid", self.study_instance_uid)
        if self.sr_sop_instance_uid:
            check_uid("sr_sop_instance_uid", self.sr_sop_instance_uid)
        if not isinstance(self.accession_number, str) or len(self.accession_number) > 16:
            raise ValueError(f"accession_number: {self.accession_number!r} is not a text of up to 16 characters")
        if not isinstance(self.patient_key, str) or not self.patient_key.strip():
            raise ValueError("patient_key: must be a non-empty text")
        if self.study_date is not None and not isinstance(self.study_date, date):
            raise TypeError(f"study_date: expected a date or None, got {type(self.study_date).__name__}")
        if not isinstance(self.grades, dict):
            raise TypeError(f"grades: expected a dict, got {type(self.grades).__name__}")
        for name, grade in self.grades.items():
            if not re.match(r"^[a-z][a-z0-9_.]*$", str(name)):
                raise ValueError(f"grades: result name {name!r} is not lower_snake_case")
            if grade not in GRADES:
                raise ValueError(f"grades[{name!r}]: {grade!r} is not a grade code {list(GRADES)}")
        if not isinstance(self.not_graded, dict):
            raise TypeError(f"not_graded: expected a dict, got {type(self.not_graded).__name__}")
        for name, reason in self.not_graded.items():
            if not re.match(r"^[a-z][a-z0-9_.]*$", str(name)):
                raise ValueError(f"not_graded: result name {name!r} is not lower_snake_case")
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"not_graded[{name!r}]: the reason must be words, got {reason!r}")
        if not all(isinstance(flag, str) and flag for flag in self.flags):
            raise ValueError(f"flags: expected non-empty texts, got {self.flags!r}")
        try:
            object.__setattr__(self, "priority", Priority(self.priority))
        except ValueError:
            raise ValueError(f"priority: {self.priority!r} is not one of {[str(p) for p in Priority]}") from None
        if not isinstance(self.amended, bool):
            raise TypeError(f"amended: expected a bool, got {self.amended!r}")

    def conclusion(self) -> str:
        """One line a person can read: findings, then the results in reading order (:meth:`grades_in_reading_order`)
        a reader acts on (the abnormal grades, then the headline results not graded, with why), then the priority."""
        parts = list(self.flags)
        for name, grade in self.grades_in_reading_order():
            if name in self.not_graded:
                if name in NOT_GRADED_HEADLINES:
                    parts.append(self.not_graded_text(name))
            elif grade not in NOT_ABNORMAL:
                parts.append(f"{result_title(name)}: {grade_words(grade)}")
        if not parts:
            parts.append("no abnormal finding")
        parts.append(f"reading priority {self.priority}")
        return "; ".join(parts)

    def grades_in_reading_order(self) -> list[tuple[str, str]]:
        """(result name, grade code) in reading order (:func:`workers.criteria.words.reading_order`): what a
        reader must act on leads the per-grade lines as it leads the conclusion."""
        return reading_order(self.grades.items(), self.not_graded)

    def not_graded_text(self, name: str) -> str:
        """ "CSF leak: not graded: CT myelography could not be assessed: metal artefact" """
        return f"{result_title(name)}: {NOT_GRADED_WORDS}: {self.not_graded[name]}"

    def identity(self, mode: str) -> tuple[str, str]:
        """(identifier, name) for an endpoint's ``patient_id`` mode; the pseudonym stands for the name too."""
        if mode == "dicom":
            if not self.patient_id:
                raise ValueError("patient_id: the endpoint sends the DICOM Patient ID, but the study has none")
            return self.patient_id, self.patient_name
        return self.patient_key, ""
