"""Coded concepts used by the result writers.

Standard codes (DCM, SCT, LN, UCUM) are used wherever one exists. Where none does, the private coding
scheme ``99SPINENODE`` is used; every code of it is listed in ``CODES.md`` next to this module, and
:func:`coding_scheme_item` declares it in the Coding Scheme Identification Sequence of every object written.
"""

from __future__ import annotations

from typing import Final

from highdicom.coding_schemes import CodingSchemeIdentificationItem
from pydicom.sr.coding import Code

PRIVATE_SCHEME: Final = "99SPINENODE"


def _private(value: str, meaning: str) -> Code:
    return Code(value=value, scheme_designator=PRIVATE_SCHEME, meaning=meaning)


# 99SPINENODE codes (documented in CODES.md).
STUDY_SUMMARY: Final = _private("STUDY-SUMMARY", "Study summary")
NUMBER_OF_SERIES: Final = _private("NUM-SERIES", "Number of series")
NUMBER_OF_IMAGES: Final = _private("NUM-IMAGES", "Number of images")
SERIES_SUMMARY: Final = _private("SERIES-SUMMARY", "Series summary")
SERIES_DESCRIPTION: Final = _private("SERIES-DESC", "Series description")
REPORT_SECTION: Final = _private("REPORT-SECTION", "Report section")
QC_VERDICT: Final = _private("QC-VERDICT", "Quality control verdict")
QC_REASON: Final = _private("QC-REASON", "Quality control reason")
QC_OUTPUT: Final = _private("QC-OUTPUT", "Analysis output")
QC_STATUS: Final = {
    "ok": _private("QC-OK", "Reliable output"),
    "unreliable": _private("QC-UNRELIABLE", "Unreliable output: not graded"),
    "failed": _private("QC-FAILED", "Failed output: not graded"),
}

# Standard codes.
SERIES_INSTANCE_UID: Final = Code("112002", "DCM", "Series Instance UID")
SERIES_NUMBER: Final = Code("113607", "DCM", "Series Number")
MODALITY: Final = Code("121139", "DCM", "Modality")
QUALITATIVE_EVALUATIONS: Final = Code("C0034375", "UMLS", "Qualitative Evaluations")

# UCUM annotations ("curly-brace" units are dimensionless counts).
UNIT_SERIES: Final = Code("{series}", "UCUM", "series")
UNIT_IMAGES: Final = Code("{images}", "UCUM", "images")
UNIT_NO_UNITS: Final = Code("1", "UCUM", "no units")


def coding_scheme_item() -> CodingSchemeIdentificationItem:
    """A new Coding Scheme Identification Sequence item that declares ``99SPINENODE``."""
    return CodingSchemeIdentificationItem(
        designator=PRIVATE_SCHEME,
        name="spinenode private codes",
        responsible_organization="spinenode",
    )
