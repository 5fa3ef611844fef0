"""CT myelography phantoms: one axial CT Image Storage series (HU + 1024 stored, rescale intercept -1024)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage

from workers.phantom.ct_model import CtSpine, Leak, acquire, render_slice
from workers.phantom.dicom import StudyHeader, ds_text, file_meta_of, save, set_patient_and_study


@dataclass(frozen=True)
class CtScenario:
    """One CT myelography phantom: the spine, the covered levels, the acquisition and the truth."""

    name: str
    description: str
    spine: CtSpine
    top: str  # first covered segment (its top)
    bottom: str  # last covered segment (its bottom)
    findings: tuple[dict[str, Any], ...] = ()
    slice_mm: float = 2.0
    rows: int = 256
    pixel_mm: float = 0.7
    contrast: bool = True
    gantry_tilt_deg: float = 0.0
    study_description: str = "CT myelography"
    expect_qc: str = "ok"


def _ctm(kind: str, levels: list[str], **fields: Any) -> dict[str, Any]:
    return {"exam": "ct_myelography", "kind": kind, "levels": levels, **fields, "source": "automated"}


def _leak(name: str, text: str, leak: Leak, top: str, bottom: str, **fields: Any) -> Callable[[], CtScenario]:
    def build() -> CtScenario:
        kind = "subdural_contrast" if leak.kind == "subdural" else "epidural_contrast"
        return CtScenario(
            name, text, CtSpine(leak=leak), top, bottom, (_ctm(kind, [leak.upper, leak.lower], **fields),)
        )

    return build


def _bad(name: str, text: str, qc: str, **changes: Any) -> Callable[[], CtScenario]:
    def build() -> CtScenario:
        base = CtScenario(name, text, CtSpine(), "C1", "T8", expect_qc=qc)
        return replace(base, **changes)

    return build


CT_SCENARIOS: dict[str, Callable[[], CtScenario]] = {
    "ctm_normal": lambda: CtScenario(
        "ctm_normal", "Normal CT myelogram of the whole spine (C1 to the sacrum, 300 slices of 2 mm).",
        CtSpine(), "C1", "S1", slice_mm=2.0,
    ),
    "ctm_epidural_leak": _leak(
        "ctm_epidural_leak", "Ventral epidural contrast and contrast along the root sleeves at T1-T2; dura intact.",
        Leak("epidural", "T1", "T2"), "C1", "T8",
        continuous_with_puncture_site=False, continuous_with_subarachnoid=False, dural_defect=False,
    ),
    "ctm_dural_defect": _leak(
        "ctm_dural_defect", "Epidural contrast at T1-T2 joined to the sac through a ventral dural defect at T1.",
        Leak("dural_defect", "T1", "T2"), "C1", "T8",
        continuous_with_puncture_site=False, continuous_with_subarachnoid=True, dural_defect=True,
    ),
    "ctm_puncture_site": _leak(
        "ctm_puncture_site", "Dorsal epidural contrast at L3-L4 tracking out along the needle path (technical failure).",  # noqa: E501
        Leak("puncture", "L3", "L4"), "T10", "S1",
        continuous_with_puncture_site=True, continuous_with_subarachnoid=None, dural_defect=None,
    ),
    "ctm_subdural": _leak(
        "ctm_subdural", "Posterior subdural contrast crescent at L2-L4 behind the arachnoid (not counted).",
        Leak("subdural", "L2", "L4", hu=850.0), "T10", "S1",
    ),
    "ctm_no_contrast": _bad("ctm_no_contrast", "Plain spine CT: no intrathecal contrast.", "failed", contrast=False,
                            study_description="CT cervical and thoracic spine"),
    "ctm_thick_slices": _bad("ctm_thick_slices", "CT myelogram reconstructed at 5 mm.", "unreliable", slice_mm=5.0),
    "ctm_metal": _bad("ctm_metal", "Pedicle screws at T4: metal streaks.", "unreliable",
                      spine=CtSpine(metal_level="T4")),
    "ctm_gantry_tilt": _bad("ctm_gantry_tilt", "Acquired with a 12 degree gantry tilt.", "unreliable",
                            gantry_tilt_deg=12.0),
}  # fmt: skip


def ct_dataset(
    header: StudyHeader,
    spec: CtScenario,
    *,
    series_uid: str,
    sop_uid: str,
    instance: int,
    z: float,
    pixels: np.ndarray,
) -> Dataset:
    """One axial CT Image Storage instance (CT Image IOD with the Contrast/Bolus module when contrast was given)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = sop_uid
    set_patient_and_study(ds, header)
    ds.StudyDescription = spec.study_description
    ds.Modality = "CT"
    ds.SeriesInstanceUID, ds.SeriesNumber = series_uid, 2
    ds.SeriesDescription = "Myelo Ax 2mm" if spec.contrast else "Ax spine bone"
    ds.SeriesDate, ds.SeriesTime = header.study_date, header.study_time
    ds.BodyPartExamined, ds.PatientPosition = "SPINE", "HFS"
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = header.frame_of_reference_uid, ""
    ds.Manufacturer, ds.ManufacturerModelName = "spinenode", "phantom"
    ds.InstitutionName, ds.StationName, ds.SoftwareVersions = "spinenode phantom", "PHANTOM", "1"
    ds.InstanceNumber, ds.AcquisitionNumber = instance, 1
    ds.ContentDate, ds.ContentTime = header.study_date, header.study_time
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    tilt = math.radians(spec.gantry_tilt_deg)
    ds.ImageOrientationPatient = ["1", "0", "0", "0", ds_text(math.cos(tilt)), ds_text(math.sin(tilt))]
    half = (spec.rows / 2.0 - 0.5) * spec.pixel_mm
    ds.ImagePositionPatient = [ds_text(-half), ds_text(-25.0 - half), ds_text(z)]
    ds.SliceLocation = ds_text(z)
    ds.PixelSpacing = [ds_text(spec.pixel_mm), ds_text(spec.pixel_mm)]
    ds.SliceThickness = ds_text(spec.slice_mm)
    ds.GantryDetectorTilt = ds_text(spec.gantry_tilt_deg)
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = spec.rows
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "-1024", "1", "HU"
    ds.KVP, ds.XRayTubeCurrent, ds.ExposureTime, ds.ConvolutionKernel = "120", 250, 1000, "BONE"
    ds.WindowCenter, ds.WindowWidth = ["400", "40"], ["1800", "400"]
    if spec.contrast:
        ds.ContrastBolusAgent = "Iohexol 240 mgI/mL"
        ds.ContrastBolusRoute = "INTRATHECAL"
        ds.ContrastBolusVolume = "10"
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    ds["PixelData"].VR = "OW"
    ds.file_meta = file_meta_of(ds)
    return ds


def write_ct_study(
    spec: CtScenario, outdir: Path, header: StudyHeader, uid: Callable[..., str], rng: np.random.Generator
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Write the axial series of ``spec``; return the files and the series truth."""
    spine = spec.spine
    z_top, z_bottom = spine.levels[spec.top][0], spine.levels[spec.bottom][1]
    n = int((z_top - z_bottom) // spec.slice_mm) + 1
    half = (spec.rows / 2.0 - 0.5) * spec.pixel_mm
    axis = np.linspace(-half, half, spec.rows)
    xx, yy = np.meshgrid(axis, axis - 25.0)
    series_uid = uid("series", 2)
    folder = outdir / "02_CT_myelo"
    folder.mkdir(exist_ok=True)
    files = []
    for k in range(n):
        z = z_top - k * spec.slice_mm
        hu = render_slice(spine, z, xx, yy, contrast=spec.contrast)
        pixels = acquire(hu, spec.pixel_mm, rng)
        ds = ct_dataset(header, spec, series_uid=series_uid, sop_uid=uid("sop", k), instance=k + 1, z=z, pixels=pixels)
        path = folder / f"CT{k + 1:04d}.dcm"
        save(ds, path)
        files.append(path)
    return files, [{"series_instance_uid": series_uid, "series_number": 2, "images": n, "folder": folder.name}]


def ct_truth(spec: CtScenario) -> dict[str, Any]:
    spine = spec.spine
    leak = spine.leak
    return {
        "exam": "ct_myelography",
        "expected_qc": spec.expect_qc,
        "coordinates": "DICOM patient coordinates (LPS, mm); z is superior, 0 at the top of C1",
        "covered": [spec.top, spec.bottom],
        "levels": [{"name": n, "z_top_mm": a, "z_bottom_mm": b} for n, (a, b) in spine.levels.items()],
        "sac_hu": [spine.sac_hu_top, spine.sac_hu_bottom] if spec.contrast else None,
        "leak": None if leak is None else {"kind": leak.kind, "levels": [leak.upper, leak.lower], "hu": leak.hu},
    }
