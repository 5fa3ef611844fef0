"""Slice geometry and rendering of one phantom series from the analytic anatomy."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from workers.phantom.anatomy import LESION_TISSUES, SpineModel, Tissue, tissue_labels
from workers.phantom.contrast import CONTRASTS, signal

PLANES: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    # ImageOrientationPatient: row direction (along a row, increasing column), column direction.
    "sagittal": ((0.0, 1.0, 0.0), (0.0, 0.0, -1.0)),
    "axial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "coronal": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0)),
}


@dataclass(frozen=True)
class SeriesSpec:
    """What one phantom series looks like: contrast, plane, matrix and MR acquisition parameters."""

    description: str
    contrast: str
    plane: str
    n_slices: int
    rows: int = 256
    columns: int = 256
    pixel_spacing_mm: float = 1.0
    slice_thickness_mm: float = 3.0
    slice_spacing_mm: float = 3.0
    centre_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    b_values: tuple[float, ...] = ()
    repetition_time_ms: float = 3500.0
    echo_time_ms: float = 100.0
    inversion_time_ms: float | None = None
    scanning_sequence: str = "SE"
    sequence_variant: str = "SK"
    scan_options: str = ""
    sequence_name: str = "*tse2d1"
    echo_train_length: int = 16
    noise_sigma: float = 12.0
    adc_overrides: dict[Tissue, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.contrast not in CONTRASTS:
            raise ValueError(f"contrast must be one of {CONTRASTS}, got {self.contrast!r}")
        if self.plane not in PLANES:
            raise ValueError(f"plane must be one of {tuple(PLANES)}, got {self.plane!r}")
        for name in ("n_slices", "rows", "columns"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("pixel_spacing_mm", "slice_thickness_mm", "slice_spacing_mm"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if (self.contrast == "DWI") != bool(self.b_values):
            raise ValueError(f"b_values must be given for contrast DWI and only for it, got {self.b_values}")

    @property
    def orientation(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        row, col = (np.asarray(v, dtype=float) for v in PLANES[self.plane])
        return row, col, np.cross(row, col)

    def slice_positions(self) -> list[np.ndarray]:
        """ImagePositionPatient of each slice (centre of the first transmitted pixel), in slice order."""
        row, col, normal = self.orientation
        centre = np.asarray(self.centre_mm, dtype=float)
        half_w = (self.columns / 2.0 - 0.5) * self.pixel_spacing_mm
        half_h = (self.rows / 2.0 - 0.5) * self.pixel_spacing_mm
        positions = []
        for k in range(self.n_slices):
            offset = (k - (self.n_slices - 1) / 2.0) * self.slice_spacing_mm
            positions.append(centre - half_w * row - half_h * col + offset * normal)
        return positions

    def pixel_points(self, position: np.ndarray) -> np.ndarray:
        """Patient coordinates (rows*columns x 3) of every pixel centre of the slice at ``position``."""
        row, col, _ = self.orientation
        r = np.arange(self.rows, dtype=float) * self.pixel_spacing_mm
        c = np.arange(self.columns, dtype=float) * self.pixel_spacing_mm
        rr, cc = np.meshgrid(r, c, indexing="ij")
        pts = position[None, :] + cc.reshape(-1, 1) * row[None, :] + rr.reshape(-1, 1) * col[None, :]
        return np.asarray(pts)


def render_slice(
    spec: SeriesSpec,
    model: SpineModel,
    position: np.ndarray,
    rng: np.random.Generator,
    *,
    b_value: float = 0.0,
) -> np.ndarray:
    """One slice as uint16 (rows x columns): labels -> signal -> blur (PSF) -> Rician noise."""
    labels = tissue_labels(model, spec.pixel_points(position)).reshape(spec.rows, spec.columns)
    adc = dict(spec.adc_overrides)
    for lesion, tissue in zip(model.marrow_lesions, LESION_TISSUES, strict=False):
        adc[tissue] = lesion.adc_mm2_s
    image = signal(labels, spec.contrast, b_value=b_value, adc_overrides=adc)
    image = ndimage.gaussian_filter(image, sigma=0.5)
    if spec.noise_sigma > 0:
        real = image + rng.normal(0.0, spec.noise_sigma, image.shape)
        imag = rng.normal(0.0, spec.noise_sigma, image.shape)
        image = np.hypot(real, imag)
    return np.clip(np.rint(image), 0, 65535).astype(np.uint16)
