"""A source with values that break their VR must not make the node's SR or card invalid."""

from __future__ import annotations

import warnings
from datetime import datetime
from pathlib import Path

from dicom_testfiles import dicom_test_file
from pydicom import dcmread
from pydicom.dataset import Dataset

from workers.results.header import drop_invalid_values
from workers.results.sc import build_summary_card
from workers.results.sr import build_measurement_report
from workers.results.validate import dciodvfy_errors


def _faulty() -> Dataset:
    ds = dcmread(dicom_test_file("MR_small.dcm"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.PatientAge = "0Y"  # AS must be nnnD/W/M/Y
        ds.PatientBirthDate = "1970-01-01"  # DA must be YYYYMMDD (Type 2: kept, emptied)
    return ds


def test_drop_invalid_values_names_what_it_changed() -> None:
    ds = _faulty()
    assert sorted(drop_invalid_values(ds)) == ["PatientAge", "PatientBirthDate"]
    assert "PatientAge" not in ds
    assert "PatientBirthDate" in ds and not ds.PatientBirthDate
    assert ds.PatientID == "4MR1"


def test_sr_and_card_from_a_faulty_source_are_valid(tmp_path: Path) -> None:
    source = _faulty()
    when = datetime(2026, 11, 23, 12, 0, 0)
    sr = build_measurement_report(
        [source],
        [],
        series_instance_uid="1.2.826.0.1.3680043.8.498.1",
        sop_instance_uid="1.2.826.0.1.3680043.8.498.2",
        series_number=9901,
        instance_number=1,
        algorithm_name="spinenode",
        algorithm_version="0",
        content_datetime=when,
    )
    card = build_summary_card(
        [source],
        [],
        [],
        series_instance_uid="1.2.826.0.1.3680043.8.498.3",
        sop_instance_uid="1.2.826.0.1.3680043.8.498.4",
        series_number=9902,
        instance_number=1,
        algorithm_name="spinenode",
        algorithm_version="0",
        content_datetime=when,
    )
    for name, ds in (("sr", sr), ("sc", card)):
        path = tmp_path / f"{name}.dcm"
        ds.save_as(path, enforce_file_format=True)
        assert dciodvfy_errors(path) == [], name
