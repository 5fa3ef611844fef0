"""Image volumes in patient space, built from the single-frame datasets of one series.

A :class:`Volume` is a 3-D array indexed ``[slice, row, column]`` plus its geometry: the
ImageOrientationPatient directions, the ImagePositionPatient of every slice, PixelSpacing, and the SOP
Instance UID of every slice (so that a finding can cite its source images). ``affine`` maps an array index
``(k, r, c, 1)`` to DICOM patient coordinates (LPS, mm).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import pixel_array


class GeometryError(ValueError):
    """A series whose geometry cannot be trusted (mixed orientation, duplicate positions, gaps, tilt)."""


@dataclass(frozen=True)
class Volume:
    """A stack of parallel slices with its patient-space geometry."""

    array: np.ndarray
    row_direction: np.ndarray
    column_direction: np.ndarray
    positions: np.ndarray
    pixel_spacing: tuple[float, float]
    sop_instance_uids: tuple[str, ...]
    series_instance_uid: str = ""
    frame_of_reference_uid: str = ""
    slice_thickness: float | None = None

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise ValueError(f"array must be 3-D (slices, rows, columns), got shape {self.array.shape}")
        n = self.array.shape[0]
        if self.positions.shape != (n, 3):
            raise ValueError(f"positions must have shape ({n}, 3), got {self.positions.shape}")
        if len(self.sop_instance_uids) != n:
            raise ValueError(f"sop_instance_uids must have {n} entries, got {len(self.sop_instance_uids)}")
        for name in ("row_direction", "column_direction"):
            v = getattr(self, name)
            if v.shape != (3,) or not np.isclose(np.linalg.norm(v), 1.0, atol=1e-3):
                raise ValueError(f"{name} must be a unit 3-vector, got {v}")
        if min(self.pixel_spacing) <= 0:
            raise ValueError(f"pixel_spacing must be > 0, got {self.pixel_spacing}")

    @property
    def normal(self) -> np.ndarray:
        return np.asarray(np.cross(self.row_direction, self.column_direction))

    @property
    def slice_step(self) -> np.ndarray:
        """Vector (mm) from one slice position to the next; along the normal for a single slice."""
        if len(self.positions) > 1:
            return np.asarray((self.positions[-1] - self.positions[0]) / (len(self.positions) - 1))
        return np.asarray(self.normal * (self.slice_thickness or 1.0))

    @property
    def spacing(self) -> tuple[float, float, float]:
        """(slice, row, column) spacing in mm."""
        return (float(np.linalg.norm(self.slice_step)), self.pixel_spacing[0], self.pixel_spacing[1])

    @property
    def affine(self) -> np.ndarray:
        a = np.eye(4)
        a[:3, 0] = self.slice_step
        a[:3, 1] = self.column_direction * self.pixel_spacing[0]
        a[:3, 2] = self.row_direction * self.pixel_spacing[1]
        a[:3, 3] = self.positions[0]
        return a

    def to_patient(self, index: np.ndarray) -> np.ndarray:
        """Array indices (N x 3, ``k, r, c``) -> patient coordinates (N x 3, LPS mm)."""
        index = np.atleast_2d(np.asarray(index, dtype=float))
        return np.asarray(index @ self.affine[:3, :3].T + self.affine[:3, 3])

    def to_index(self, points: np.ndarray) -> np.ndarray:
        """Patient coordinates (N x 3) -> fractional array indices (N x 3, ``k, r, c``)."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        inv = np.linalg.inv(self.affine)
        return np.asarray(points @ inv[:3, :3].T + inv[:3, 3])

    def plane(self) -> str:
        """The main plane: axial, sagittal or coronal, by the largest component of the normal."""
        axis = int(np.argmax(np.abs(self.normal)))
        return ("sagittal", "coronal", "axial")[axis]

    def with_array(self, array: np.ndarray) -> Volume:
        """The same geometry with other voxel values (same shape)."""
        if array.shape != self.array.shape:
            raise ValueError(f"array must have shape {self.array.shape}, got {array.shape}")
        return Volume(
            array,
            self.row_direction,
            self.column_direction,
            self.positions,
            self.pixel_spacing,
            self.sop_instance_uids,
            self.series_instance_uid,
            self.frame_of_reference_uid,
            self.slice_thickness,
        )


#: The geometry attributes in the words a reason gives them (a reason is read on the card and in the SR).
_IN_WORDS = {
    "ImageOrientationPatient": "image orientation",
    "ImagePositionPatient": "image position",
    "PixelSpacing": "pixel spacing",
}


def _floats(ds: Dataset, keyword: str) -> list[float]:
    value = ds.get(keyword)
    if value is None:
        raise GeometryError(f"the {_IN_WORDS.get(keyword, keyword)} is missing on a slice")
    return [float(v) for v in value]


_PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


def stored_pixels(ds: Dataset) -> np.ndarray:
    """The stored pixel values of ``ds``, decoded without keeping a copy in ``ds``.

    A header read with ``stop_before_pixels`` (the pipeline's headers) has no pixel data: its pixels are read
    from its file (``ds.filename``), so that a series is held once, as the volume built from it.
    """
    if any(keyword in ds for keyword in _PIXEL_KEYWORDS):
        return np.asarray(pixel_array(ds))
    path = getattr(ds, "filename", None)
    if isinstance(path, str | os.PathLike) and os.path.isfile(path):
        return np.asarray(pixel_array(path))
    raise GeometryError("a slice has no pixel data and no file to read it from")


def _rescale(ds: Dataset) -> tuple[float, float]:
    """(slope, intercept) to modality values: RescaleSlope/Intercept, or a linear Real World Value Mapping."""
    rwvm = ds.get("RealWorldValueMappingSequence")
    if rwvm:
        item = rwvm[0]
        if "RealWorldValueLUTData" not in item:
            return float(item.get("RealWorldValueSlope", 1.0)), float(item.get("RealWorldValueIntercept", 0.0))
    return float(ds.get("RescaleSlope", 1.0) or 1.0), float(ds.get("RescaleIntercept", 0.0) or 0.0)


def pixel_values(ds: Dataset) -> np.ndarray:
    """Stored pixels -> modality values (RescaleSlope/Intercept, or a Real World Value Mapping), float64."""
    slope, intercept = _rescale(ds)
    return np.asarray(stored_pixels(ds).astype(np.float64) * slope + intercept)


def load_volume(datasets: Sequence[Dataset], *, rtol_spacing: float = 0.05) -> Volume:
    """One :class:`Volume` from single-frame datasets that form one stack of parallel slices.

    Raises :class:`GeometryError` when orientation, matrix or spacing differ, when two slices share a
    position, or when the slice spacing is not uniform within ``rtol_spacing``.
    """
    if not datasets:
        raise GeometryError("datasets is empty")
    first = datasets[0]
    iop = np.array(_floats(first, "ImageOrientationPatient"))
    row_dir, col_dir = iop[:3], iop[3:]
    spacing = tuple(_floats(first, "PixelSpacing"))
    shape = (int(first.Rows), int(first.Columns))
    for ds in datasets[1:]:
        if not np.allclose(_floats(ds, "ImageOrientationPatient"), iop, atol=1e-3):
            raise GeometryError("the slices are not all in one orientation (mixed orientations in one series)")
        if (int(ds.Rows), int(ds.Columns)) != shape:
            raise GeometryError(
                f"the slices are not all of one size ({ds.Rows} x {ds.Columns} against {shape[0]} x {shape[1]} pixels)"
            )
        if not np.allclose(_floats(ds, "PixelSpacing"), spacing, rtol=1e-3):
            other = _floats(ds, "PixelSpacing")
            raise GeometryError(
                f"the slices do not all have one pixel spacing ({other[0]:g} x {other[1]:g} mm against "
                f"{spacing[0]:g} x {spacing[1]:g} mm)"
            )
    normal = np.cross(row_dir, col_dir)
    positions = np.array([_floats(ds, "ImagePositionPatient") for ds in datasets])
    order = np.argsort(positions @ normal)
    positions = positions[order]
    if len(positions) > 1:
        steps = np.linalg.norm(np.diff(positions, axis=0), axis=1)
        if np.any(steps < 1e-3):
            raise GeometryError("two slices are at the same position")
        if np.any(np.abs(steps - steps.mean()) > rtol_spacing * steps.mean()):
            raise GeometryError(
                f"slice spacing is not uniform ({steps.min():.1f} to {steps.max():.1f} mm between neighbouring "
                "slices: a slice missing or out of place)"
            )
        step = (positions[-1] - positions[0]) / (len(positions) - 1)
        tilt = np.degrees(np.arccos(min(1.0, abs(float(step @ normal)) / float(np.linalg.norm(step)))))
        if tilt > 30.0:
            raise GeometryError(f"slices are stacked {tilt:.1f} degrees off their normal")
    ordered = [datasets[i] for i in order]
    # Slice by slice into one float32 array: the values are those of a float64 rescale, but only one slice
    # is ever held in float64.
    array = np.empty((len(ordered), *shape), dtype=np.float32)
    for k, ds in enumerate(ordered):
        values = pixel_values(ds)
        if values.shape != shape:  # e.g. a multi-frame image: Volume says what is wrong
            array = np.stack([values, *(pixel_values(d) for d in ordered[k + 1 :])]).astype(np.float32)
            break
        array[k] = values
    thickness = first.get("SliceThickness")
    return Volume(
        array=array,
        row_direction=np.asarray(row_dir / np.linalg.norm(row_dir)),
        column_direction=np.asarray(col_dir / np.linalg.norm(col_dir)),
        positions=positions,
        pixel_spacing=(float(spacing[0]), float(spacing[1])),
        sop_instance_uids=tuple(str(ds.SOPInstanceUID) for ds in ordered),
        series_instance_uid=str(first.get("SeriesInstanceUID", "")),
        frame_of_reference_uid=str(first.get("FrameOfReferenceUID", "")),
        slice_thickness=float(thickness) if thickness not in (None, "") else None,
    )
