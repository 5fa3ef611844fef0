"""MR Image Storage datasets (Explicit VR Little Endian) for the phantom's slices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, MRImageStorage

from workers.phantom.series import SeriesSpec


@dataclass(frozen=True)
class StudyHeader:
    """Patient and study attributes shared by every series of one phantom study (all synthetic)."""

    patient_name: str
    patient_id: str
    study_uid: str
    frame_of_reference_uid: str
    accession_number: str
    study_description: str
    study_date: str = "20240101"
    study_time: str = "090000"
    study_id: str = "1"
    patient_birth_date: str = "19700101"
    patient_sex: str = "O"

    def __post_init__(self) -> None:
        if len(self.study_date) != 8 or not self.study_date.isdigit():
            raise ValueError(f"study_date must be YYYYMMDD, got {self.study_date!r}")
        if not self.patient_id:
            raise ValueError("patient_id must not be empty")


def mr_dataset(
    study: StudyHeader,
    spec: SeriesSpec,
    *,
    series_uid: str,
    series_number: int,
    sop_uid: str,
    instance_number: int,
    position: np.ndarray,
    pixels: np.ndarray,
    b_value: float | None = None,
) -> Dataset:
    """One MR Image Storage instance with every module the IOD requires."""
    if pixels.dtype != np.uint16 or pixels.shape != (spec.rows, spec.columns):
        raise ValueError(f"pixels must be uint16 {spec.rows}x{spec.columns}, got {pixels.dtype} {pixels.shape}")
    ds = Dataset()
    # SOP Common
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    set_patient_and_study(ds, study)
    # General Series
    ds.Modality = "MR"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = spec.description
    ds.SeriesDate = study.study_date
    ds.SeriesTime = study.study_time
    ds.BodyPartExamined = "SPINE"
    ds.PatientPosition = "HFS"
    # Frame of Reference
    ds.FrameOfReferenceUID = study.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""
    # General Equipment
    ds.Manufacturer = "spinenode"
    ds.ManufacturerModelName = "phantom"
    ds.InstitutionName = "spinenode phantom"
    ds.StationName = "PHANTOM"
    ds.SoftwareVersions = "1"
    # General Image / Acquisition
    ds.InstanceNumber = instance_number
    ds.AcquisitionNumber = 1
    ds.ContentDate = study.study_date
    ds.ContentTime = study.study_time
    ds.PatientOrientation = ""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "DIFFUSION" if b_value is not None else "OTHER", "NONE"]
    # Image Plane
    row, col, _ = spec.orientation
    ds.ImageOrientationPatient = [ds_text(v) for v in (*row, *col)]
    ds.ImagePositionPatient = [ds_text(v) for v in position]
    ds.PixelSpacing = [ds_text(spec.pixel_spacing_mm), ds_text(spec.pixel_spacing_mm)]
    ds.SliceThickness = ds_text(spec.slice_thickness_mm)
    ds.SpacingBetweenSlices = ds_text(spec.slice_spacing_mm)
    _, _, normal = spec.orientation
    ds.SliceLocation = ds_text(float(np.dot(position, normal)))
    # Image Pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = spec.rows
    ds.Columns = spec.columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds["PixelData"].VR = "OW"
    # MR Image
    ds.ScanningSequence = spec.scanning_sequence.split("\\")
    ds.SequenceVariant = spec.sequence_variant.split("\\")
    ds.ScanOptions = spec.scan_options.split("\\") if spec.scan_options else ""
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = spec.sequence_name
    ds.AngioFlag = "N"
    ds.RepetitionTime = ds_text(spec.repetition_time_ms)
    ds.EchoTime = ds_text(spec.echo_time_ms)
    if spec.inversion_time_ms is not None:
        ds.InversionTime = ds_text(spec.inversion_time_ms)
    ds.EchoTrainLength = spec.echo_train_length
    ds.NumberOfAverages = "1"
    ds.ImagingFrequency = "63.87"
    ds.ImagedNucleus = "1H"
    ds.EchoNumbers = "1"
    ds.MagneticFieldStrength = "1.5"
    ds.NumberOfPhaseEncodingSteps = str(spec.rows)
    ds.PercentSampling = "100"
    ds.PercentPhaseFieldOfView = "100"
    ds.PixelBandwidth = "200"
    ds.ReceiveCoilName = "SPINE"
    ds.TransmitCoilName = "BODY"
    ds.InPlanePhaseEncodingDirection = "ROW" if spec.plane == "axial" else "COL"
    ds.FlipAngle = "90"
    ds.PatientWeight = "70"
    if b_value is not None:
        ds.DiffusionBValue = float(b_value)
        ds.DiffusionDirectionality = "ISOTROPIC" if b_value > 0 else "NONE"
    ds.WindowCenter = ds_text(float(np.percentile(pixels, 99)) / 2.0)
    ds.WindowWidth = ds_text(max(float(np.percentile(pixels, 99)), 1.0))
    ds.file_meta = file_meta_of(ds)
    return ds


def set_patient_and_study(ds: Dataset, study: StudyHeader) -> None:
    """The Patient and General Study modules of every phantom object, from ``study``."""
    ds.PatientName = study.patient_name
    ds.PatientID = study.patient_id
    ds.PatientBirthDate = study.patient_birth_date
    ds.PatientSex = study.patient_sex
    ds.StudyInstanceUID = study.study_uid
    ds.StudyDate = study.study_date
    ds.StudyTime = study.study_time
    ds.ReferringPhysicianName = ""
    ds.StudyID = study.study_id
    ds.AccessionNumber = study.accession_number
    ds.StudyDescription = study.study_description


def save(ds: Dataset, path: Path) -> None:
    """Write ``ds`` as a DICOM Part 10 file in Explicit VR Little Endian."""
    ds.file_meta = file_meta_of(ds)
    ds.save_as(path, enforce_file_format=True)


def file_meta_of(ds: Dataset) -> FileMetaDataset:
    """The file meta information of ``ds`` (explicit VR little endian, its SOP class and instance)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def ds_text(value: float) -> str:
    """A DS string of at most 16 characters."""
    text = f"{value:.6g}"
    if text == "-0":
        text = "0"
    return text
