"""Synthetic MR study headers for the result writer tests.

The headers are written here (no real patient); pixels, where asked for, are a deterministic pattern.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from io import BytesIO
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

STUDY_UID = generate_uid(entropy_srcs=["test-study"])
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
SHARED_DICOM = Path(__file__).resolve().parents[5] / "shared" / "data" / "dicom"
REAL_MR = SHARED_DICOM / "dcm_qa_ts" / "In" / "1.dcm"
REAL_ENHANCED_MR = SHARED_DICOM / "dcm_qa_enh" / "In" / "Philips" / "IM_0027_fMAP.dcm"

SliceFactory = Callable[..., Dataset]


def make_mr_slice(
    series_number: int,
    instance_number: int,
    *,
    description: str = "Sag T2 TSE",
    orientation: tuple[float, ...] = SAGITTAL,
    rows: int = 64,
    columns: int = 48,
    with_pixels: bool = False,
    study_uid: str = STUDY_UID,
    patient_id: str = "SN-000123",
) -> Dataset:
    """One MR Image Storage instance with a complete header (Patient, Study, Series, Frame of Reference,
    Equipment, Image Plane, Image Pixel, MR Image), in ISO_IR 100 with a non-ASCII patient name."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    sop_uid = generate_uid(entropy_srcs=["test-sop", study_uid, str(series_number), str(instance_number)])
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.PatientName = "Müller^Jörg"
    ds.PatientID = patient_id
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.StudyInstanceUID = study_uid
    ds.StudyDate = "20240506"
    ds.StudyTime = "070000"
    ds.StudyID = "42"
    ds.AccessionNumber = "ACC-42"
    ds.ReferringPhysicianName = "Ref^Doc"
    ds.StudyDescription = "MR C-spine"
    ds.Modality = "MR"
    ds.SeriesInstanceUID = generate_uid(entropy_srcs=["test-series", study_uid, str(series_number)])
    ds.SeriesNumber = series_number
    ds.SeriesDescription = description
    ds.BodyPartExamined = "CSPINE"
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=["test-for", study_uid])
    ds.PositionReferenceIndicator = ""
    ds.Manufacturer = "ACME"
    ds.ManufacturerModelName = "Scanner 3T"
    ds.SoftwareVersions = "VE11"
    ds.InstanceNumber = instance_number
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.AcquisitionDate = "20240506"
    ds.AcquisitionTime = "071000"
    ds.ContentDate = "20240506"
    ds.ContentTime = "071000"
    ds.PixelSpacing = [0.5, 0.5]
    ds.SliceThickness = 3.0
    ds.ImageOrientationPatient = list(orientation)
    ds.ImagePositionPatient = [-12.0, -12.0, float(instance_number) * 3.0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "SK"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.RepetitionTime = 3000.0
    ds.EchoTime = 90.0
    ds.EchoTrainLength = 16
    ds.MagneticFieldStrength = 3.0
    if with_pixels:
        yy, xx = np.mgrid[0:rows, 0:columns]
        disc = (yy - rows / 2) ** 2 + (xx - columns / 2) ** 2 < (min(rows, columns) / 3) ** 2
        image = (200 + 40 * instance_number + 2500 * disc + (xx * 7 + yy * 3) % 300).astype(np.uint16)
        ds.PixelData = image.tobytes()
    return ds


@pytest.fixture
def make_slice() -> SliceFactory:
    return make_mr_slice


@pytest.fixture
def mr_sources() -> list[Dataset]:
    """Two series: sagittal T2 (3 slices) and axial T2 (2 slices), headers only."""
    return [
        *(make_mr_slice(2, i, description="Sag T2 TSE", orientation=SAGITTAL) for i in (1, 2, 3)),
        *(make_mr_slice(3, i, description="Ax T2 C5-C7", orientation=AXIAL) for i in (1, 2)),
    ]


@pytest.fixture
def when() -> datetime:
    return datetime(2024, 5, 6, 7, 8, 9)


@pytest.fixture
def new_uids() -> dict[str, str]:
    return {
        "series_instance_uid": generate_uid(entropy_srcs=["test-result-series"]),
        "sop_instance_uid": generate_uid(entropy_srcs=["test-result-instance"]),
    }


def encode(ds: Dataset) -> bytes:
    """The Part 10 file bytes of ``ds``."""
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture
def to_bytes() -> Callable[[Dataset], bytes]:
    return encode


@pytest.fixture
def reread() -> Callable[[Dataset], Dataset]:
    """Encode and parse again, as a receiver would."""

    def _reread(ds: Dataset) -> Dataset:
        return pydicom.dcmread(BytesIO(encode(ds)))

    return _reread


@pytest.fixture
def write(tmp_path: Path) -> Callable[[Dataset, str], Path]:
    def _write(ds: Dataset, name: str) -> Path:
        path = tmp_path / name
        path.write_bytes(encode(ds))
        return path

    return _write


@pytest.fixture
def real_mr_path() -> Path:
    """A real Siemens MR slice (dcm_qa_ts, BSD-2), explicit VR little endian."""
    if not REAL_MR.is_file():
        pytest.fail(f"shared test data missing: {REAL_MR}")
    return REAL_MR


@pytest.fixture
def real_enhanced_mr_path() -> Path:
    """A real Philips Enhanced MR (multi-frame) file (dcm_qa_enh, BSD-2)."""
    if not REAL_ENHANCED_MR.is_file():
        pytest.fail(f"shared test data missing: {REAL_ENHANCED_MR}")
    return REAL_ENHANCED_MR
