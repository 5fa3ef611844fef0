"""dciodvfy wrapper: reports Error lines, refuses missing files, names a missing validator."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from workers.results import validate
from workers.results.validate import ValidatorMissingError, dciodvfy_errors


def test_an_incomplete_mr_image_has_errors(tmp_path: Path) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    path = tmp_path / "broken.dcm"
    ds.save_as(path, enforce_file_format=True)
    errors = dciodvfy_errors(path)
    assert errors and all("Error" in line for line in errors)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="path: "):
        dciodvfy_errors(tmp_path / "absent.dcm")


def test_missing_validator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Stand-in for a machine without dicom3tools: the executable lookup finds nothing.
    monkeypatch.setattr(validate.shutil, "which", lambda name: None)
    with pytest.raises(ValidatorMissingError, match="dicom3tools"):
        dciodvfy_errors(tmp_path / "any.dcm")
