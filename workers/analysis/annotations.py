"""Radiologist ROIs from DICOM: TID 1500 SR planar ROIs and GSPS graphic annotations, on the ADC grid.

Supported shapes: SCOORD POLYGON (or a closed POLYLINE), ELLIPSE (4 points: major then minor axis ends),
CIRCLE (centre, a point on the circle), each with its referenced image; SCOORD3D of the same types in patient
coordinates. GSPS: Graphic Annotation Sequence items with Referenced Image Sequence and Graphic Object
Sequence in PIXEL units. Pixel coordinates follow DICOM (0,0 is the top-left corner of the top-left pixel, so
its centre is 0.5,0.5). The shape is taken to the patient coordinates of its image and every ADC voxel whose
centre lies within half a slice of that image's plane and inside the shape belongs to the ROI.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from workers.analysis.volume import Volume

SHAPES = ("POLYGON", "POLYLINE", "ELLIPSE", "CIRCLE")


@dataclass(frozen=True)
class Shape:
    """One annotated shape: graphic type, points (N x 2 pixel (column, row), or N x 3 patient mm)."""

    name: str
    graphic_type: str
    points: np.ndarray
    referenced_sop_uid: str | None
    source: str  # "SR" or "GSPS"


def _items(ds: Dataset) -> Iterator[tuple[Dataset, Dataset | None]]:
    """Content items depth-first, each with its parent."""
    stack: list[tuple[Dataset, Dataset | None]] = [(item, None) for item in ds.get("ContentSequence", [])]
    while stack:
        item, parent = stack.pop()
        yield item, parent
        stack.extend((child, item) for child in item.get("ContentSequence", []))


def _name_of(parent: Dataset | None, index: int) -> str:
    if parent is not None:
        for child in parent.get("ContentSequence", []):
            if child.get("ValueType") == "TEXT" and "Tracking Identifier" in str(
                child.ConceptNameCodeSequence[0].CodeMeaning
            ):
                return str(child.TextValue)
    return f"annotation {index}"


def sr_shapes(sr: Dataset) -> list[Shape]:
    """Planar ROIs (SCOORD with a referenced image, or SCOORD3D) of a structured report."""
    shapes: list[Shape] = []
    for item, parent in _items(sr):
        kind = item.get("ValueType")
        graphic = str(item.get("GraphicType", ""))
        if kind not in ("SCOORD", "SCOORD3D") or graphic not in SHAPES:
            continue
        data = np.asarray(item.GraphicData, dtype=float)
        if kind == "SCOORD3D":
            shapes.append(Shape(_name_of(parent, len(shapes) + 1), graphic, data.reshape(-1, 3), None, "SR"))
            continue
        ref = next((c for c in item.get("ContentSequence", []) if c.get("ValueType") == "IMAGE"), None)
        if ref is None:
            continue
        uid = str(ref.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
        shapes.append(Shape(_name_of(parent, len(shapes) + 1), graphic, data.reshape(-1, 2), uid, "SR"))
    return shapes


def gsps_shapes(pr: Dataset) -> list[Shape]:
    """Graphic objects (PIXEL units) of a grayscale softcopy presentation state, per referenced image."""
    shapes: list[Shape] = []
    for annotation in pr.get("GraphicAnnotationSequence", []):
        refs = [str(r.ReferencedSOPInstanceUID) for r in annotation.get("ReferencedImageSequence", [])]
        for obj in annotation.get("GraphicObjectSequence", []):
            graphic = str(obj.get("GraphicType", ""))
            if graphic not in SHAPES or str(obj.get("GraphicAnnotationUnits", "PIXEL")) != "PIXEL":
                continue
            points = np.asarray(obj.GraphicData, dtype=float).reshape(-1, 2)
            layer = str(annotation.get("GraphicLayer", "GSPS"))
            for uid in refs:
                shapes.append(Shape(f"{layer} {len(shapes) + 1}", graphic, points, uid, "GSPS"))
    return shapes


def shapes_of(datasets: Sequence[Dataset]) -> list[Shape]:
    out: list[Shape] = []
    for ds in datasets:
        if "GraphicAnnotationSequence" in ds:
            out.extend(gsps_shapes(ds))
        elif "ContentSequence" in ds:
            out.extend(sr_shapes(ds))
    return out


def _inside(graphic: str, points: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Which 2-D points ``uv`` (N x 2) lie inside the shape given by ``points`` (same units)."""
    if graphic == "CIRCLE":
        radius = np.linalg.norm(points[1] - points[0])
        return np.asarray(np.linalg.norm(uv - points[0], axis=1) <= radius)
    if graphic == "ELLIPSE":
        centre = 0.5 * (points[0] + points[1])
        major = points[1] - points[0]
        a, b = 0.5 * np.linalg.norm(major), 0.5 * np.linalg.norm(points[3] - points[2])
        e1 = major / np.linalg.norm(major)
        d = uv - centre
        p, q = d @ e1, d @ np.array([-e1[1], e1[0]])
        return np.asarray((p / a) ** 2 + (q / b) ** 2 <= 1.0)
    x, y = points[:, 0], points[:, 1]  # polygon, even-odd rule
    inside = np.zeros(len(uv), dtype=bool)
    for i in range(len(points)):
        j = i - 1
        crosses = (y[i] > uv[:, 1]) != (y[j] > uv[:, 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x[i] + (uv[:, 1] - y[i]) * (x[j] - x[i]) / (y[j] - y[i])
        inside ^= crosses & (uv[:, 0] < x_at)
    return inside


def roi_mask(shape: Shape, images: Mapping[str, Dataset], target: Volume) -> np.ndarray | None:
    """The shape as a mask on ``target``'s grid, or None when its image is unknown."""
    k, r, c = np.meshgrid(*(np.arange(n) for n in target.array.shape), indexing="ij")
    centres = target.to_patient(np.column_stack([k.ravel(), r.ravel(), c.ravel()]))
    if shape.referenced_sop_uid is None:  # SCOORD3D: the plane of the points
        origin = shape.points.mean(axis=0)
        u, _, vt = np.linalg.svd(shape.points - origin)
        e1, e2, normal = vt[0], vt[1], vt[2]
        pts2 = np.column_stack([(shape.points - origin) @ e1, (shape.points - origin) @ e2])
        half = 0.5 * target.spacing[0]
    else:
        ref = images.get(shape.referenced_sop_uid)
        if ref is None:
            return None
        iop = np.asarray(ref.ImageOrientationPatient, dtype=float)
        e1, e2 = iop[:3], iop[3:]
        normal = np.cross(e1, e2)
        row_spacing, col_spacing = (float(v) for v in ref.PixelSpacing)
        origin = np.asarray(ref.ImagePositionPatient, dtype=float) - 0.5 * col_spacing * e1 - 0.5 * row_spacing * e2
        pts2 = shape.points * np.array([col_spacing, row_spacing])
        half = 0.5 * max(float(ref.get("SliceThickness", 0) or 0), target.spacing[0])
    rel = centres - origin
    near = np.abs(rel @ normal) <= half + 1e-6
    uv = np.column_stack([rel @ e1, rel @ e2])
    mask = near & _inside(shape.graphic_type, pts2, uv)
    return np.asarray(mask.reshape(target.array.shape))
