"""An axial CT series as a HU volume, and the header checks that decide whether it can be read as a myelogram."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

MIN_SLICES = 20  # fewer axial images cannot show a sac over even one vertebral level at <= 3 mm
MAX_SLICE_MM = 3.0  # the bound: thicker slices blur a thin epidural layer into the sac and the fat
MAX_TILT_DEG = 0.5


@dataclass(frozen=True)
class CtVolume:
    """HU (int16) indexed [slice, row, column], slices ordered from head to feet, and their geometry."""

    hu: np.ndarray
    z: np.ndarray  # patient z (mm, superior positive) of each slice
    origin_xy: tuple[float, float]  # patient x, y of pixel (0, 0)
    pixel_mm: tuple[float, float]  # (row spacing along y, column spacing along x)
    sop_instance_uids: tuple[str, ...]

    @property
    def slice_mm(self) -> float:
        return float(np.median(np.abs(np.diff(self.z)))) if len(self.z) > 1 else 0.0


def header_problems(datasets: Sequence[Dataset]) -> tuple[list[str], list[str]]:
    """(reasons the series cannot be read at all, reasons its reading is unreliable), from headers only."""
    failed: list[str] = []
    unreliable: list[str] = []
    images = [ds for ds in datasets if "PixelData" in ds]
    if len(images) < MIN_SLICES:
        failed.append(f"{len(images)} CT image(s): a myelogram needs an axial volume of at least {MIN_SLICES} slices")
        return failed, unreliable
    iop = [float(v) for v in images[0].get("ImageOrientationPatient", [])]
    if len(iop) != 6:
        failed.append("no image orientation: the slices cannot be placed")
        return failed, unreliable
    normal = np.cross(iop[:3], iop[3:])
    if abs(normal[2]) < 0.9 and not images[0].get("GantryDetectorTilt"):
        failed.append("not an axial series")
    tilt = max(abs(float(ds.get("GantryDetectorTilt", 0) or 0)) for ds in images)
    oblique = float(np.degrees(np.arccos(min(1.0, abs(normal[2])))))
    if tilt > MAX_TILT_DEG or oblique > MAX_TILT_DEG:
        unreliable.append(f"gantry tilt {max(tilt, oblique):.0f} degrees: slices are not perpendicular to the table")
    thickness = max(float(ds.get("SliceThickness", 0) or 0) for ds in images)
    if thickness > MAX_SLICE_MM:
        unreliable.append(f"slice thickness {thickness:g} mm (more than {MAX_SLICE_MM:g} mm)")
    return failed, unreliable


def load_ct(datasets: Sequence[Dataset]) -> CtVolume:
    """The HU volume of one axial series (slices sorted head to feet); ValueError on mixed matrices."""
    images = sorted((ds for ds in datasets if "PixelData" in ds), key=lambda d: -float(d.ImagePositionPatient[2]))
    shapes = {(int(ds.Rows), int(ds.Columns)) for ds in images}
    if len(shapes) != 1:
        sizes = " and ".join(f"{r} x {c}" for r, c in sorted(shapes))
        raise ValueError(f"the CT slices are not all of one size ({sizes} pixels)")
    hu = np.empty((len(images), *shapes.pop()), dtype=np.int16)
    for k, ds in enumerate(images):
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        hu[k] = np.clip(ds.pixel_array.astype(np.float32) * slope + intercept, -1024, 32000)
    first = images[0]
    spacing = tuple(float(v) for v in first.PixelSpacing)
    pos = [float(v) for v in first.ImagePositionPatient]
    return CtVolume(
        hu,
        np.array([float(ds.ImagePositionPatient[2]) for ds in images]),
        (pos[0], pos[1]),
        (spacing[0], spacing[1]),
        tuple(str(ds.SOPInstanceUID) for ds in images),
    )
