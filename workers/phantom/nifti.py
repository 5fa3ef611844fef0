"""Wrap a real NIfTI volume as MR Image Storage datasets: real pixels, synthetic headers.

Used by tests and benchmarks that measure the analysers on real spinal cord MRI (the public
``sct_testing_data``). Geometry is exact: NIfTI RAS world coordinates become DICOM LPS, and each 3-D volume
is resliced by axis permutation and flips only (never interpolated) into the requested display plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import nibabel as nib
import numpy as np
from nibabel import orientations as ornt
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from workers.phantom.dicom import StudyHeader, mr_dataset
from workers.phantom.series import SeriesSpec

# Axis codes (nibabel, RAS convention) of the data axes (column, row, slice) for each display plane.
_PLANE_CODES: dict[str, tuple[str, str, str]] = {
    "sagittal": ("P", "I", "L"),
    "axial": ("L", "P", "S"),
    "coronal": ("L", "I", "P"),
}

_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


@dataclass(frozen=True)
class WrapSpec:
    """How to label the wrapped series (all synthetic header values)."""

    description: str
    plane: str
    scanning_sequence: str = "SE"
    sequence_variant: str = "SK"
    repetition_time_ms: float = 3000.0
    echo_time_ms: float = 100.0
    sequence_name: str = "*tse3d1"

    def __post_init__(self) -> None:
        if self.plane not in _PLANE_CODES:
            raise ValueError(f"plane must be one of {tuple(_PLANE_CODES)}, got {self.plane!r}")


def _reslice(data: np.ndarray, affine: np.ndarray, plane: str) -> tuple[np.ndarray, np.ndarray]:
    """Permute and flip the first three axes so that they run (column, row, slice) of ``plane``."""
    current = ornt.io_orientation(affine)
    wanted = ornt.axcodes2ornt(_PLANE_CODES[plane])
    transform = ornt.ornt_transform(current, wanted)
    out = ornt.apply_orientation(data, transform)
    new_affine = affine @ ornt.inv_ornt_aff(transform, data.shape[:3])
    return np.asarray(out), np.asarray(new_affine)


def wrap_nifti(
    image: nib.Nifti1Image,
    wrap: WrapSpec,
    header: StudyHeader,
    *,
    series_number: int = 1,
    b_values: Sequence[float] | None = None,
    b_vectors: np.ndarray | None = None,
    scale: float | None = None,
) -> list[Dataset]:
    """MR datasets (one per slice and per volume) holding the pixels of ``image``.

    ``b_values``/``b_vectors`` (FSL convention: one value per volume; directions 3 x N or N x 3 in the
    voxel frame) become DiffusionBValue and DiffusionGradientOrientation (patient frame). Pixels are stored as
    uint16: values are shifted to be >= 0 and scaled by ``scale`` (default: to fill 0..4095) with
    RescaleSlope/RescaleIntercept restoring the original values.
    """
    data = np.asanyarray(image.dataobj).astype(np.float64)
    if data.ndim == 3:
        data = data[..., None]
    if data.ndim != 4:
        raise ValueError(f"image must be 3-D or 4-D, got shape {data.shape}")
    n_vol = data.shape[3]
    if b_values is not None and len(b_values) != n_vol:
        raise ValueError(f"b_values must have {n_vol} entries, got {len(b_values)}")
    if b_vectors is not None and np.shape(b_vectors) == (n_vol, 3):
        b_vectors = np.asarray(b_vectors).T
    if b_vectors is not None and np.shape(b_vectors) != (3, n_vol):
        raise ValueError(f"b_vectors must have shape (3, {n_vol}), got {np.shape(b_vectors)}")
    finite = np.isfinite(data)
    lo = float(data[finite].min())
    hi = float(data[finite].max())
    slope = scale if scale is not None else max(hi - lo, 1e-6) / 4095.0
    resliced, affine = _reslice(np.where(finite, data, lo), image.affine, wrap.plane)
    lps = _LPS @ affine
    col_vec, row_vec, slice_vec = lps[:3, 0], lps[:3, 1], lps[:3, 2]
    col_spacing, row_spacing = float(np.linalg.norm(col_vec)), float(np.linalg.norm(row_vec))
    rows, columns, n_slices = resliced.shape[1], resliced.shape[0], resliced.shape[2]
    spec = SeriesSpec(
        wrap.description,
        "DWI" if b_values is not None else "T2",
        wrap.plane,
        n_slices,
        rows=rows,
        columns=columns,
        pixel_spacing_mm=row_spacing,
        slice_thickness_mm=float(np.linalg.norm(slice_vec)),
        slice_spacing_mm=float(np.linalg.norm(slice_vec)),
        b_values=tuple(float(b) for b in b_values) if b_values is not None else (),
        repetition_time_ms=wrap.repetition_time_ms,
        echo_time_ms=wrap.echo_time_ms,
        scanning_sequence=wrap.scanning_sequence,
        sequence_variant=wrap.sequence_variant,
        sequence_name=wrap.sequence_name,
    )
    if not np.isclose(col_spacing, row_spacing, rtol=1e-3):
        raise ValueError(f"in-plane voxels must be square, got {col_spacing} x {row_spacing} mm")
    # Voxel-frame gradient -> world (RAS) -> patient (LPS). FSL flips x when the affine is not radiological.
    rotation = image.affine[:3, :3] / np.linalg.norm(image.affine[:3, :3], axis=0)
    flip = np.diag([-1.0, 1.0, 1.0]) if np.linalg.det(image.affine[:3, :3]) > 0 else np.eye(3)
    series_uid = str(generate_uid())
    datasets = []
    instance = 0
    for v in range(n_vol):
        gradient = None
        if b_vectors is not None:
            g = np.diag([-1.0, -1.0, 1.0]) @ rotation @ flip @ np.asarray(b_vectors)[:, v]
            gradient = g / np.linalg.norm(g) if np.linalg.norm(g) > 1e-6 else None
        for k in range(n_slices):
            instance += 1
            stored = np.rint((resliced[:, :, k, v].T - lo) / slope)
            pixels = np.clip(stored, 0, 65535).astype(np.uint16)
            position = lps[:3, 3] + k * slice_vec
            ds = mr_dataset(
                header,
                spec,
                series_uid=series_uid,
                series_number=series_number,
                sop_uid=str(generate_uid()),
                instance_number=instance,
                position=position,
                pixels=pixels,
                b_value=None if b_values is None else float(b_values[v]),
            )
            ds.ImageOrientationPatient = [f"{x:.6f}" for x in (*(col_vec / col_spacing), *(row_vec / row_spacing))]
            ds.RescaleSlope = f"{slope:.8g}"
            ds.RescaleIntercept = f"{lo:.8g}"
            ds.RescaleType = "US"
            ds.MRAcquisitionType = "3D"
            if gradient is not None:
                ds.DiffusionGradientOrientation = [float(x) for x in gradient]
                ds.DiffusionDirectionality = "DIRECTIONAL"
            datasets.append(ds)
    return datasets


def binned_pixels(data: np.ndarray, affine: np.ndarray, axes: Sequence[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    """``data`` with ``k`` x ``k`` pixels averaged along ``axes`` (a coarser matrix over the same field; a
    remainder of fewer than ``k`` pixels dropped) and its affine, the new pixel centres kept in place."""
    affine = affine.copy()
    for axis in axes:
        n = data.shape[axis] // k * k
        data = np.take(data, range(n), axis=axis)
        shape = list(data.shape)
        shape[axis : axis + 1] = [n // k, k]
        data = data.reshape(shape).mean(axis=axis + 1)
        affine[:3, 3] += affine[:3, axis] * (k - 1) / 2
        affine[:3, axis] *= k
    return data, affine
