"""Coded concepts of the criteria SR content; every private code is listed in ``CODES.md`` here.

Standard codes are used where one exists (SCT 230744007 "Cerebrospinal fluid leak", SCT Yes/No, DCM
Series Instance UID and Study Date). Everything else uses the node's private scheme ``99SPINENODE``
(declared by the result writers, see ``workers/results/CODES.md``); the criteria codes below have their
own values and never reuse one of the result writers' codes.
"""

from __future__ import annotations

from typing import Final

from pydicom.sr.coding import Code

from workers.criteria.grades import Grade
from workers.results.codes import PRIVATE_SCHEME


def _private(value: str, meaning: str) -> Code:
    if len(value) > 16:
        raise ValueError(f"code value {value!r} is longer than 16 characters (SH)")
    return Code(value=value, scheme_designator=PRIVATE_SCHEME, meaning=meaning)


# Standard codes.
CSF_LEAK: Final = Code("230744007", "SCT", "Cerebrospinal fluid leak")
YES: Final = Code("373066001", "SCT", "Yes")
NO: Final = Code("373067005", "SCT", "No")
SERIES_INSTANCE_UID: Final = Code("112002", "DCM", "Series Instance UID")
STUDY_DATE: Final = Code("111060", "DCM", "Study Date")

# Private concept names.
GRADE: Final = _private("CRIT-GRADE", "Criteria grade")
RULE: Final = _private("CRIT-RULE", "Criteria rule")
RULESET: Final = _private("CRIT-RULESET", "Criteria rule set version")
NEEDS_CONFIRMATION: Final = _private("CRIT-CONFIRM", "Requires confirmation by a radiologist")
SUPPORTING_FINDING: Final = _private("CRIT-SUPPORT", "Supporting finding")
MISSING_INPUT: Final = _private("CRIT-MISSING", "Missing input")
MISSING_CLAIM_ITEM: Final = _private("CRIT-CLAIMMISS", "Missing claim item")
APPLICABLE: Final = _private("CRIT-APPLICABLE", "Criteria applicable")
ELIGIBLE: Final = _private("CRIT-ELIGIBLE", "Eligible")
EXAM: Final = _private("CRIT-EXAM", "Imaging examination")
SOP_INSTANCE_UID: Final = _private("CRIT-SOPUID", "SOP Instance UID")
INSTITUTION_NAME: Final = _private("CRIT-INSTNAME", "Institution Name")
NOTE: Final = _private("CRIT-NOTE", "Criteria note")
EXAM_NOT_ASSESSED: Final = _private("CRIT-NOTASSESSED", "Examination could not be assessed")

# Private finding types (no SNOMED CT concept was verified for these).
INTRACRANIAL_HYPOTENSION: Final = _private("FT-ICH", "Intracranial hypotension")
EBP_ELIGIBILITY: Final = _private("FT-EBP", "Epidural blood patch eligibility")

# Criteria sets, used as the TID 1501 Measurement Method.
METHOD_CSF_LEAK_DX: Final = _private("CSET-CSF-DX", "CSF leak imaging diagnostic criteria")
METHOD_CSF_LEAK_EXAM: Final = _private("CSET-CSF-EXAM", "CSF leak imaging criteria of one exam")
METHOD_ICH: Final = _private("CSET-ICH", "Intracranial hypotension imaging criteria")
METHOD_ICH_DX: Final = _private("CSET-ICH-DX", "Intracranial hypotension diagnostic criteria")
METHOD_EBP: Final = _private("CSET-EBP", "Epidural blood patch eligibility rule")

GRADES: Final[dict[Grade, Code]] = {
    Grade.NONE: _private("GRD-NONE", "No grade"),
    Grade.REFERENCE: _private("GRD-REFERENCE", "Reference finding only"),
    Grade.SUSPECTED: _private("GRD-SUSPECTED", "Suspected"),
    Grade.STRONGLY_SUSPECTED: _private("GRD-STRONG-SUSP", "Strongly suspected"),
    Grade.DEFINITE: _private("GRD-DEFINITE", "Definite"),
    Grade.CONFIRMED: _private("GRD-CONFIRMED", "Confirmed"),
}
#: The value of ``GRADE`` for a result that is not graded: its exams could not be assessed (the JSON grade stays
#: NONE, with ``graded`` false; :mod:`workers.criteria.grading`).
NOT_GRADED: Final = _private("GRD-NOTGRADED", "Not graded: the examination could not be assessed")

EXAMS: Final[dict[str, Code]] = {
    "spinal_mri": _private("EXAM-SPINAL-MRI", "Spinal MRI / MR myelography"),
    "ri_cisternography": _private("EXAM-RI-CISTERN", "Radionuclide cisternography"),
    "ct_myelography": _private("EXAM-CT-MYELO", "CT myelography"),
    "brain_mri": _private("EXAM-BRAIN-MRI", "Brain MRI"),
}


def yes_no(value: bool) -> Code:
    return YES if value else NO
