"""NM Image Storage datasets (static planar views) for the cisternography phantom."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import NuclearMedicineImageStorage

from workers.phantom.dicom import StudyHeader, ds_text, file_meta_of, set_patient_and_study

VIEW_CODES: dict[str, Code] = {
    "anterior": codes.SCT.AnteriorEmissiveProjection,
    "posterior": codes.SCT.PosteriorEmissiveProjection,
    "left lateral": codes.SCT.LeftLateralEmissiveProjection,
    "right lateral": codes.SCT.RightLateralEmissiveProjection,
}
#: Image orientation as (row direction, column direction) letters (PatientOrientation, C.7.6.1.1.1).
ORIENTATION = {"anterior": ["L", "F"], "posterior": ["R", "F"], "left lateral": ["P", "F"], "right lateral": ["A", "F"]}


@dataclass(frozen=True)
class Tracer:
    """The radiopharmaceutical: its name, codes, half-life, dose and route."""

    name: str = "In-111 DTPA"
    radionuclide: Code = Code("56609000", "SCT", "^111^Indium")
    pharmaceutical: Code = Code("29218008", "SCT", "Indium^111^ pentetate")
    half_life_s: float = 2.8047 * 86400.0
    dose_mbq: float = 37.0
    route: str = "Intrathecal"
    window_kev: tuple[tuple[float, float], ...] = ((154.0, 188.0), (221.0, 269.0))


BONE_TRACER = Tracer(
    "Tc-99m MDP",
    Code("72454006", "SCT", "^99m^Technetium"),
    Code("96390006", "SCT", "Technetium Tc^99m^ medronate"),
    6.0067 * 3600.0,
    740.0,
    "Intravenous",
    ((126.0, 154.0),),
)
RENAL_TRACER = Tracer(
    "Tc-99m MAG3",
    Code("72454006", "SCT", "^99m^Technetium"),
    Code("404705002", "SCT", "Technetium Tc^99m^ mertiatide"),
    6.0067 * 3600.0,
    200.0,
    "Intravenous",
    ((126.0, 154.0),),
)


def _code_item(code: Code) -> Dataset:
    item = Dataset()
    item.CodeValue = code.value
    item.CodingSchemeDesignator = code.scheme_designator
    item.CodeMeaning = code.meaning
    return item


def _dt_text(moment: _dt.datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def nm_dataset(
    study: StudyHeader,
    *,
    series_uid: str,
    series_number: int,
    series_description: str,
    sop_uid: str,
    instance_number: int,
    pixels: np.ndarray,
    pixel_mm: float,
    view: str | None,
    injection: _dt.datetime,
    acquired: _dt.datetime,
    duration_s: float,
    tracer: Tracer,
    comments: str = "",
    label_view: bool = True,
) -> Dataset:
    """One static planar NM image (one frame, one detector) with every module the NM Image IOD requires.

    ``label_view`` False leaves the view out of ViewCodeSequence (``comments`` may still name it, as some
    vendors do).
    """
    if pixels.dtype != np.uint16 or pixels.ndim != 2:
        raise ValueError(f"pixels must be a 2-D uint16 array, got {pixels.dtype} {pixels.shape}")
    if view is not None and view not in VIEW_CODES:
        raise ValueError(f"view must be one of {sorted(VIEW_CODES)} or None, got {view!r}")
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = NuclearMedicineImageStorage
    ds.SOPInstanceUID = sop_uid
    set_patient_and_study(ds, study)
    ds.PatientWeight = "70"
    ds.Modality = "NM"
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = series_description
    ds.SeriesDate = acquired.strftime("%Y%m%d")
    ds.SeriesTime = acquired.strftime("%H%M%S")
    ds.BodyPartExamined = "SPINE"
    ds.Manufacturer = "spinenode"
    ds.ManufacturerModelName = "phantom"
    ds.InstitutionName = "spinenode phantom"
    ds.StationName = "PHANTOM"
    ds.SoftwareVersions = "1"
    # NM/PET Patient Orientation: recumbent, supine, head first
    orientation = _code_item(Code("102538003", "SCT", "recumbent"))
    orientation.PatientOrientationModifierCodeSequence = [_code_item(Code("40199007", "SCT", "supine"))]
    ds.PatientOrientationCodeSequence = [orientation]
    ds.PatientGantryRelationshipCodeSequence = [_code_item(Code("102540008", "SCT", "headfirst"))]
    # General Image / Acquisition
    ds.InstanceNumber = instance_number
    ds.AcquisitionDate = acquired.strftime("%Y%m%d")
    ds.AcquisitionTime = acquired.strftime("%H%M%S")
    ds.AcquisitionDateTime = _dt_text(acquired)
    ds.ContentDate = acquired.strftime("%Y%m%d")
    ds.ContentTime = acquired.strftime("%H%M%S")
    ds.PatientOrientation = ORIENTATION[view] if view is not None and label_view else ""
    ds.ImageType = ["ORIGINAL", "PRIMARY", "STATIC", "EMISSION"]
    if comments:
        ds.ImageComments = comments
    ds.AcquisitionContextSequence = []
    # Image Pixel / NM Image Pixel
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = (int(v) for v in pixels.shape)
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [ds_text(pixel_mm), ds_text(pixel_mm)]
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds["PixelData"].VR = "OW"
    # Multi-frame / NM Multi-frame: one frame, energy window 1, detector 1
    ds.NumberOfFrames = 1
    ds.FrameIncrementPointer = [0x00540010, 0x00540020]
    ds.EnergyWindowVector = [1]
    ds.NumberOfEnergyWindows = 1
    ds.DetectorVector = [1]
    ds.NumberOfDetectors = 1
    # NM Image
    ds.ImageID = view.upper() if view is not None and label_view else ""
    ds.CountsAccumulated = int(pixels.astype(np.int64).sum())
    ds.AcquisitionTerminationCondition = "TIME"
    ds.ActualFrameDuration = int(duration_s * 1000)
    ds.LossyImageCompression = "00"
    # NM Isotope
    windows = []
    for lower, upper in tracer.window_kev:
        rng = Dataset()
        rng.EnergyWindowLowerLimit = ds_text(lower)
        rng.EnergyWindowUpperLimit = ds_text(upper)
        windows.append(rng)
    window = Dataset()
    window.EnergyWindowRangeSequence = windows
    window.EnergyWindowName = "PEAKS"
    ds.EnergyWindowInformationSequence = [window]
    pharm = Dataset()
    pharm.RadionuclideCodeSequence = [_code_item(tracer.radionuclide)]
    pharm.Radiopharmaceutical = tracer.name
    pharm.RadiopharmaceuticalCodeSequence = [_code_item(tracer.pharmaceutical)]
    pharm.RadiopharmaceuticalRoute = tracer.route
    pharm.RadiopharmaceuticalStartTime = injection.strftime("%H%M%S")
    pharm.RadiopharmaceuticalStartDateTime = _dt_text(injection)
    pharm.RadionuclideTotalDose = ds_text(tracer.dose_mbq)
    pharm.RadionuclideHalfLife = ds_text(tracer.half_life_s)
    ds.RadiopharmaceuticalInformationSequence = [pharm]
    # NM Detector
    detector = Dataset()
    detector.CollimatorGridName = "MEGP"
    detector.CollimatorType = "PARA"
    detector.FieldOfViewShape = "RECTANGLE"
    detector.FieldOfViewDimensions = [int(pixels.shape[0] * pixel_mm), int(pixels.shape[1] * pixel_mm)]
    detector.FocalDistance = [0]
    detector.XFocusCenter = [0]
    detector.YFocusCenter = [0]
    detector.ZoomFactor = [ds_text(1.0), ds_text(1.0)]
    detector.ImageOrientationPatient = None
    detector.ImagePositionPatient = None
    if view is not None and label_view:
        detector.ViewCodeSequence = [_code_item(VIEW_CODES[view])]
    ds.DetectorInformationSequence = [detector]
    peak = float(np.percentile(pixels, 99.5)) or 1.0
    ds.WindowCenter = ds_text(peak / 2.0)
    ds.WindowWidth = ds_text(peak)
    ds.file_meta = file_meta_of(ds)
    return ds
