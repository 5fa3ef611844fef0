"""Procedure Reported codes from the source headers."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from workers.results.procedure import procedure_reported


def _header(modality: str, body_part: str = "", study: str = "", series: str = "") -> Dataset:
    ds = Dataset()
    ds.Modality = modality
    ds.BodyPartExamined = body_part
    ds.StudyDescription = study
    ds.SeriesDescription = series
    return ds


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([_header("MR", "CSPINE")], ["24935-9"]),
        ([_header("MR", "", "MRI Thoracic spine")], ["24980-5"]),
        ([_header("MR", "LSPINE"), _header("MR", "LSPINE")], ["24968-0"]),
        ([_header("MR", "", "Whole spine")], ["24935-9", "24980-5", "24968-0"]),
        ([_header("MR", "BRAIN"), _header("MR", "CSPINE")], ["24590-2", "24935-9"]),
        ([_header("MR", "", "Knee")], ["25056-3"]),
        ([_header("CT", "LSPINE", "CT myelography")], ["24965-6"]),
        ([_header("CT", "TSPINE", "CT myelography")], ["24978-9"]),
        ([_header("CT", "", "CT cisternography")], ["24734-6"]),
        ([_header("NM", "", "RI cisternography In-111 DTPA")], ["24663-7"]),
        ([_header("NM", "", "Bone scan")], ["49118-3"]),
        ([_header("US", "", "Neck")], ["363679005"]),
        ([Dataset()], ["363679005"]),
    ],
)
def test_procedure_codes(headers: list[Dataset], expected: list[str]) -> None:
    assert [code.value for code in procedure_reported(headers)] == expected


def test_schemes_are_loinc_or_snomed() -> None:
    codes = procedure_reported([_header("MR", "CSPINE"), _header("US")])
    assert [c.scheme_designator for c in codes] == ["LN"]
    assert codes[0].meaning == "MR Cervical spine"
