"""``spinenode inventory PATH [--json]`` on synthetic headers written to a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from node.cli import main


def _write_fiesta(folder: Path, n: int = 4) -> str:
    series_uid = generate_uid()
    for i in range(n):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SeriesInstanceUID, ds.StudyInstanceUID = series_uid, "1.2.3.4"
        ds.Modality, ds.Manufacturer, ds.SeriesDescription = "MR", "GE MEDICAL SYSTEMS", "Ax FIESTA C7-T3"
        ds.SeriesNumber, ds.Rows, ds.Columns, ds.PixelSpacing = 3, 8, 8, [1.0, 1.0]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0, 0, float(i)]
        ds.SliceThickness = 1.0
        ds.save_as(folder / f"im{i}.dcm", enforce_file_format=True)
    (folder / "notes.txt").write_text("not DICOM")
    return series_uid


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uid = _write_fiesta(tmp_path)
    assert main(["inventory", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 1
    got = data[0]
    assert (got["series_uid"], got["sequence"], got["plane"], got["images"]) == (uid, "SSFP", "axial", 4)
    assert (got["slice_thickness_mm"], got["region"], got["b_values"]) == (1.0, "cervicothoracic", [])


def test_table_output_and_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_fiesta(tmp_path)
    assert main(["inventory", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["#", "mod", "sequence"]
    assert "SSFP" in out[1] and "Ax FIESTA C7-T3" in out[1]
    assert main(["inventory", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err
