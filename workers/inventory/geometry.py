"""Slice geometry from Image Orientation / Position (Patient): plane, body-axis coverage, and the
reasons a series' geometry must not be trusted (gantry tilt, missing slices, uneven spacing, mixed
orientations).

Works on classic single-frame images and on enhanced multi-frame images (Plane Orientation /
Plane Position Sequences in the shared or per-frame functional groups).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset

from workers.inventory.headers import floats, number, to_float

PLANES = ("axial", "sagittal", "coronal", "oblique")
# A slice is called axial/sagittal/coronal when its normal is within ~32 degrees of that axis;
# spine axials angled along a disc stay "axial".
MAIN_AXIS_COSINE = 0.85
ORIENTATION_TOLERANCE = 1e-3  # difference in direction cosines still counted as "the same"
TILT_TOLERANCE_DEGREES = 0.5
SPACING_TOLERANCE_MM = 0.1


@dataclass(frozen=True)
class Slice:
    """One image plane: direction cosines, position of the first pixel, and its size in mm."""

    row: tuple[float, float, float]
    col: tuple[float, float, float]
    position: tuple[float, float, float] | None
    height_mm: float | None = None  # rows x row spacing
    width_mm: float | None = None  # columns x column spacing
    thickness_mm: float | None = None

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(np.asarray(self.row), np.asarray(self.col))
        norm = float(np.linalg.norm(n))
        return n / norm if norm > 0 else n


def plane_of(row: Sequence[float], col: Sequence[float]) -> str:
    """``axial`` | ``sagittal`` | ``coronal`` | ``oblique`` from the two direction cosines."""
    if len(row) != 3 or len(col) != 3:
        raise ValueError(f"direction cosines need 3 values each, got row={row!r} col={col!r}")
    n = np.cross(np.asarray(row, dtype=float), np.asarray(col, dtype=float))
    norm = float(np.linalg.norm(n))
    if norm < 1e-6:
        raise ValueError(f"row and column cosines are parallel: row={row!r} col={col!r}")
    n = np.abs(n / norm)
    axis = int(np.argmax(n))
    if n[axis] < MAIN_AXIS_COSINE:
        return "oblique"
    return ("sagittal", "coronal", "axial")[axis]


def _slice(
    orientation: object,
    position: object,
    pixel: Dataset | None,
    rows: float | None,
    cols: float | None,
    thickness: float | None,
) -> Slice | None:
    iop = floats(orientation)
    if iop is None or len(iop) != 6:
        return None
    ipp = floats(position)
    pos = (ipp[0], ipp[1], ipp[2]) if ipp is not None and len(ipp) == 3 else None
    spacing = floats(pixel.get("PixelSpacing")) if pixel is not None else None
    height = width = None
    if spacing is not None and len(spacing) == 2 and rows and cols:
        height, width = rows * spacing[0], cols * spacing[1]
    return Slice((iop[0], iop[1], iop[2]), (iop[3], iop[4], iop[5]), pos, height, width, thickness)


def _macro(item: Dataset | None, keyword: str) -> Dataset | None:
    if item is None:
        return None
    seq = item.get(keyword)
    return seq[0] if seq else None


def slices_of(ds: Dataset) -> list[Slice]:
    """Every image plane in a dataset (one for classic images, one per frame for multi-frame)."""
    rows, cols = to_float(ds.get("Rows")), to_float(ds.get("Columns"))
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame:
        shared_seq = ds.get("SharedFunctionalGroupsSequence")
        shared = shared_seq[0] if shared_seq else None
        result: list[Slice] = []
        for frame in per_frame:
            orient = _macro(frame, "PlaneOrientationSequence") or _macro(shared, "PlaneOrientationSequence")
            pos = _macro(frame, "PlanePositionSequence") or _macro(shared, "PlanePositionSequence")
            pixel = _macro(frame, "PixelMeasuresSequence") or _macro(shared, "PixelMeasuresSequence")
            if orient is None:
                continue
            thickness = to_float(pixel.get("SliceThickness")) if pixel is not None else None
            found = _slice(
                orient.get("ImageOrientationPatient"),
                pos.get("ImagePositionPatient") if pos is not None else None,
                pixel,
                rows,
                cols,
                thickness,
            )
            if found is not None:
                result.append(found)
        return result
    found = _slice(
        ds.get("ImageOrientationPatient"),
        ds.get("ImagePositionPatient"),
        ds,
        rows,
        cols,
        number(ds, "SliceThickness"),
    )
    return [found] if found is not None else []


@dataclass
class GeometrySummary:
    plane: str | None
    z_range: tuple[float, float] | None
    coverage_mm: float | None
    issues: list[str] = field(default_factory=list)


def _same(a: Slice, b: Slice) -> bool:
    return max(abs(x - y) for x, y in zip(a.row + a.col, b.row + b.col, strict=True)) <= ORIENTATION_TOLERANCE


def summarise(slices: Sequence[Slice], gantry_tilt_degrees: float | None = None) -> GeometrySummary:
    """Plane (most common), z range and coverage along the body axis, and geometry issues."""
    if not slices:
        return GeometrySummary(None, None, None, [])
    planes = Counter(plane_of(s.row, s.col) for s in slices)
    plane = planes.most_common(1)[0][0]
    issues: list[str] = []
    reference = slices[0]
    if any(not _same(reference, s) for s in slices):
        issues.append(
            f"inconsistent orientation: {len({s.row + s.col for s in slices})} different "
            "ImageOrientationPatient values in one series"
        )
    if gantry_tilt_degrees:
        issues.append(f"gantry tilt {gantry_tilt_degrees:g} degrees (GantryDetectorTilt)")
    z_values: list[float] = []
    for s in slices:
        if s.position is None:
            continue
        z0 = s.position[2]
        corners = [z0]
        if s.height_mm is not None and s.width_mm is not None:
            corners += [
                z0 + s.row[2] * s.width_mm,
                z0 + s.col[2] * s.height_mm,
                z0 + s.row[2] * s.width_mm + s.col[2] * s.height_mm,
            ]
        half = 0.5 * (s.thickness_mm or 0.0) * abs(float(s.normal[2]))
        z_values += [min(corners) - half, max(corners) + half]
    z_range = (round(min(z_values), 2), round(max(z_values), 2)) if z_values else None
    coverage = round(z_range[1] - z_range[0], 1) if z_range else None
    if not issues:
        issues += _stack_issues([s for s in slices if s.position is not None])
    return GeometrySummary(plane, z_range, coverage, issues)


def _stack_issues(slices: Sequence[Slice]) -> list[str]:
    """Tilt, gaps and uneven spacing of a stack that shares one orientation."""
    if len(slices) < 2:
        return []
    normal = slices[0].normal
    positions = np.array([s.position for s in slices], dtype=float)
    distances = positions @ normal
    order = np.argsort(distances)
    # one entry per distinct slice location (diffusion and dynamic series repeat locations)
    unique: list[int] = []
    counts: list[int] = []
    for index in order:
        if not unique or distances[index] - distances[unique[-1]] > SPACING_TOLERANCE_MM / 2:
            unique.append(int(index))
            counts.append(0)
        counts[-1] += 1
    issues: list[str] = []
    if len(unique) >= 2 and len(set(counts)) > 1:
        issues.append("unequal number of images per slice location (missing images)")
    if len(unique) == 1 or (len(unique) == 2 and len(slices) == 2):
        # repeated locations with several images each (diffusion, dynamics) are a legitimate sample
        issues.append(f"{len(slices)} images at only {len(unique)} slice location(s): not a volume")
        return issues
    if len(unique) < 3:
        return issues
    steps = np.diff(distances[unique])
    vectors = np.diff(positions[unique], axis=0)
    lengths = np.linalg.norm(vectors, axis=1)
    cosines = np.clip(np.abs(vectors @ normal) / np.where(lengths > 0, lengths, 1.0), 0.0, 1.0)
    tilt = float(np.degrees(np.arccos(cosines.min())))
    if tilt > TILT_TOLERANCE_DEGREES:
        issues.append(f"slices are sheared by {tilt:.1f} degrees against their normal (gantry tilt)")
    median = float(np.median(steps))
    if steps.max() - steps.min() > max(SPACING_TOLERANCE_MM, 0.01 * median):
        if steps.max() > 1.5 * median:
            issues.append(f"slice gap of {steps.max():.2f} mm where {median:.2f} mm is usual (missing slices)")
        else:
            issues.append(f"inconsistent slice increment: {steps.min():.2f} to {steps.max():.2f} mm")
    return issues
