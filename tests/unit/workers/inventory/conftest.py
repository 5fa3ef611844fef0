"""Synthetic MR headers for the inventory tests (headers only; no pixels)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

PrivateSpec = tuple[int, str, int, str, Any, int]  # group, creator, offset, VR, value, block


def build_series(
    n: int = 3,
    iop: Sequence[float] = (1, 0, 0, 0, 1, 0),
    spacing: float = 1.0,
    thickness: float | None = 1.0,
    private: Sequence[PrivateSpec] = (),
    per_image: Callable[[int, Dataset], None] | None = None,
    **attributes: Any,
) -> list[Dataset]:
    """``n`` MR images of one series stacked along the slice normal, with the given attributes."""
    series_uid, study_uid = generate_uid(), generate_uid()
    row, col = np.asarray(iop[:3], dtype=float), np.asarray(iop[3:], dtype=float)
    normal = np.cross(row, col)
    result = []
    for i in range(n):
        ds = Dataset()
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        ds.SOPInstanceUID = generate_uid()
        ds.SeriesInstanceUID = series_uid
        ds.StudyInstanceUID = study_uid
        ds.Modality = "MR"
        ds.SeriesNumber = 5
        ds.InstanceNumber = i + 1
        ds.Rows, ds.Columns = 64, 64
        ds.PixelSpacing = [0.5, 0.5]
        ds.ImageOrientationPatient = [float(v) for v in iop]
        ds.ImagePositionPatient = [float(v) for v in (-16.0, -16.0, 0.0) + normal * spacing * i]
        if thickness is not None:
            ds.SliceThickness = thickness
        for keyword, value in attributes.items():
            setattr(ds, keyword, value)
        for group, creator, offset, vr, value, block in private:
            ds.add_new((group, block), "LO", creator)
            ds.add_new((group, (block << 8) | offset), vr, value)
        if per_image is not None:
            per_image(i, ds)
        result.append(ds)
    return result


@pytest.fixture
def series() -> Callable[..., list[Dataset]]:
    return build_series
