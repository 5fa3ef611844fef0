"""Which exam an NM or CT series belongs to, from its headers."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from workers.inventory.exam import exam_of

PYDICOM_TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def _nm(nuclide: str, name: str, description: str = "") -> Dataset:
    ds = Dataset()
    ds.Modality = "NM"
    ds.SeriesDescription = description
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = nuclide, "SCT", "nuclide"
    info = Dataset()
    info.RadionuclideCodeSequence = [code]
    info.Radiopharmaceutical = name
    ds.RadiopharmaceuticalInformationSequence = [info]
    return ds


def _ct(route: str = "", description: str = "") -> Dataset:
    ds = Dataset()
    ds.Modality = "CT"
    ds.SeriesDescription = description
    if route:
        ds.ContrastBolusRoute = route
    return ds


@pytest.mark.parametrize(
    ("ds", "exam"),
    [
        (_nm("56609000", "In-111 DTPA"), "ri_cisternography"),
        (_nm("", "111In-DTPA"), "ri_cisternography"),
        (_nm("72454006", "Tc-99m MDP", "Whole Body Bone"), None),
        (_nm("72454006", "Tc-99m MAG3", "Renal"), None),
        (_nm("", "", "脳槽シンチ 24h"), "ri_cisternography"),
        (_ct("INTRATHECAL"), "ct_myelography"),
        (_ct(description="CTミエロ 2mm"), "ct_myelography"),
        (_ct(description="Myelo Ax"), "ct_myelography"),
        (_ct(description="Ax spine bone"), None),
    ],
)
def test_exam_from_headers(ds: Dataset, exam: str | None) -> None:
    assert exam_of(ds) == exam


def test_real_ct_and_mr_files_are_neither() -> None:
    assert exam_of(pydicom.dcmread(PYDICOM_TEST_FILES / "CT_small.dcm", stop_before_pixels=True)) is None
    assert exam_of(pydicom.dcmread(PYDICOM_TEST_FILES / "MR_small.dcm", stop_before_pixels=True)) is None
