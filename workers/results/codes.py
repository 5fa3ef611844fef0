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
EPIDURAL_FLUID: Final = _private("FND-EPIFLUID", "Epidural fluid collection")
ANTERIOR_HORN_SIGNAL: Final = _private("FND-AHSIGNAL", "Anterior-horn T2 hyperintensity of the spinal cord")
MSAM_FLAG: Final = _private("FND-MSAM", "Duropathy (MSAM) to be considered")
ADC_SUSPICIOUS: Final = _private("VB-ADC-SUSP", "Suspicious for malignancy (ADC at or below 1.21 x10-3 mm2/s)")
ADC_BENIGN: Final = _private("VB-ADC-BENIGN", "Favours benign (ADC above 1.21 x10-3 mm2/s)")
ADC_UNRELIABLE: Final = _private("VB-ADC-UNREL", "ADC not reliable for the cut-off")
ADC_VERDICT: Final = _private("VB-ADC-VERDICT", "Marrow ADC verdict (VB-ADC-1)")
CONFIDENCE: Final = _private("CONFIDENCE", "Confidence of the automated output")
NOT_ASSESSABLE: Final = _private("NOT-ASSESSABLE", "Not assessable")
PROTOCOL_NOTE: Final = _private("PROTOCOL-NOTE", "Protocol note")
CODED_FINDINGS: Final = _private("FINDINGS", "Findings")
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
COMPRESSION: Final = Code("71173004", "SCT", "Compression")
LESION: Final = Code("52988006", "SCT", "Lesion")
BONE_MARROW: Final = Code("14016003", "SCT", "Bone marrow")
SPINAL_CORD: Final = Code("2748008", "SCT", "Spinal cord")
SPINAL_CORD_GRAY_MATTER: Final = Code("12958003", "SCT", "Spinal cord gray matter")
VERTEBRAL_CANAL: Final = Code("61853006", "SCT", "Vertebral canal")
SEVERITY: Final = Code("246112005", "SCT", "Severity")
SEVERITY_VALUES: Final = {
    "severe": Code("24484000", "SCT", "Severe"),
    "moderate": Code("6736007", "SCT", "Moderate"),
    "mild": Code("255604002", "SCT", "Mild"),
}

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
