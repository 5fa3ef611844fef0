"""An analytic spine in patient coordinates (LPS, mm) that any slice geometry can sample.

The model is a column of vertebrae along the z axis (superior is +z), with a gentle sagittal curve. Each
point of space gets one tissue label; :mod:`workers.phantom.contrast` turns labels into MR signal. Because
the anatomy lives in patient space, a sagittal and an axial series of the same study agree exactly, and the
ground truth (cord area, lesion ADC, levels) is known analytically.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

LEVEL_NAMES: tuple[str, ...] = (
    "C2", "C3", "C4", "C5", "C6", "C7",
    "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12",
    "L1", "L2", "L3", "L4", "L5",
)  # fmt: skip


class Tissue(IntEnum):
    """Tissue labels of the phantom."""

    BACKGROUND = 0
    FAT = 1
    MUSCLE = 2
    CORTEX = 3
    MARROW = 4
    DISC_ANNULUS = 5
    DISC_NUCLEUS = 6
    CSF = 7
    CORD = 8
    CORD_LESION = 9
    EPIDURAL_FLUID = 10
    MARROW_LESION = 11
    DURA = 12
    MARROW_LESION_B = 13


LESION_TISSUES: tuple[Tissue, ...] = (Tissue.MARROW_LESION, Tissue.MARROW_LESION_B)


@dataclass(frozen=True)
class Level:
    """One vertebra: its name and the z range (mm) of its body; the disc below it follows."""

    name: str
    z_top: float
    z_bottom: float

    @property
    def z_centre(self) -> float:
        return 0.5 * (self.z_top + self.z_bottom)


@dataclass(frozen=True)
class CordCompression:
    """A focal narrowing of the cord's AP semi-axis, centred at ``z_centre`` with a cosine taper."""

    z_centre: float
    half_length_mm: float
    min_ap_semi_axis_mm: float

    def __post_init__(self) -> None:
        if self.half_length_mm <= 0:
            raise ValueError(f"half_length_mm must be > 0, got {self.half_length_mm}")
        if self.min_ap_semi_axis_mm <= 0:
            raise ValueError(f"min_ap_semi_axis_mm must be > 0, got {self.min_ap_semi_axis_mm}")


@dataclass(frozen=True)
class MarrowLesion:
    """A spherical focal marrow lesion (inside the marrow of a vertebral body only)."""

    level: str
    centre_offset_mm: tuple[float, float, float]
    radius_mm: float
    adc_mm2_s: float

    def __post_init__(self) -> None:
        if self.level not in LEVEL_NAMES:
            raise ValueError(f"level must be one of {LEVEL_NAMES}, got {self.level!r}")
        if self.radius_mm <= 0:
            raise ValueError(f"radius_mm must be > 0, got {self.radius_mm}")
        if not 0 < self.adc_mm2_s < 4e-3:
            raise ValueError(f"adc_mm2_s must be in (0, 4e-3), got {self.adc_mm2_s}")


@dataclass(frozen=True)
class EpiduralFluid:
    """A ventral epidural CSF collection from the top of ``upper`` to the bottom of ``lower``."""

    upper: str
    lower: str
    thickness_mm: float = 3.0

    def __post_init__(self) -> None:
        for name, value in (("upper", self.upper), ("lower", self.lower)):
            if value not in LEVEL_NAMES:
                raise ValueError(f"{name} must be one of {LEVEL_NAMES}, got {value!r}")
        if LEVEL_NAMES.index(self.upper) > LEVEL_NAMES.index(self.lower):
            raise ValueError(f"upper {self.upper!r} lies below lower {self.lower!r}")
        if not 0.5 <= self.thickness_mm <= 8.0:
            raise ValueError(f"thickness_mm must be in [0.5, 8], got {self.thickness_mm}")


@dataclass(frozen=True)
class AnteriorHornLesion:
    """Bilateral anterior-horn hyperintensity ("snake eyes") over the body of ``level``."""

    level: str
    radius_mm: float = 1.0

    def __post_init__(self) -> None:
        if self.level not in LEVEL_NAMES:
            raise ValueError(f"level must be one of {LEVEL_NAMES}, got {self.level!r}")
        if self.radius_mm <= 0:
            raise ValueError(f"radius_mm must be > 0, got {self.radius_mm}")


@dataclass(frozen=True)
class SpineModel:
    """Dimensions of the analytic spine (mm, LPS). ``z_top`` is the top of the first (C2) body.

    The C2 body carries the dens (odontoid process, ``dens_height_mm`` tall) above it, so that C2 stands out
    as the tallest bone at the top of a cervical field of view, as in real images.
    """

    z_top: float = 108.0
    dens_height_mm: float = 15.0
    n_levels: int = 12
    curve_amplitude_mm: float = 4.0
    canal_y_mm: float = 10.0
    cord_rl_semi_axis_mm: float = 6.5
    cord_ap_semi_axis_mm: float = 4.0
    sac_rl_semi_axis_mm: float = 10.5
    sac_ap_semi_axis_mm: float = 7.0
    compression: CordCompression | None = None
    marrow_lesions: tuple[MarrowLesion, ...] = ()
    epidural_fluid: EpiduralFluid | None = None
    anterior_horn_lesion: AnteriorHornLesion | None = None
    levels: tuple[Level, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.n_levels <= len(LEVEL_NAMES):
            raise ValueError(f"n_levels must be in [1, {len(LEVEL_NAMES)}], got {self.n_levels}")
        if not 0 < self.cord_ap_semi_axis_mm < self.sac_ap_semi_axis_mm:
            raise ValueError(f"cord_ap_semi_axis_mm must be in (0, sac), got {self.cord_ap_semi_axis_mm}")
        if len(self.marrow_lesions) > len(LESION_TISSUES):
            raise ValueError(f"marrow_lesions holds at most {len(LESION_TISSUES)}, got {len(self.marrow_lesions)}")
        if not 0 < self.cord_rl_semi_axis_mm < self.sac_rl_semi_axis_mm:
            raise ValueError(f"cord_rl_semi_axis_mm must be in (0, sac), got {self.cord_rl_semi_axis_mm}")
        levels = []
        z = self.z_top
        for name in LEVEL_NAMES[: self.n_levels]:
            height = 13.0 if name.startswith("C") else 17.0 if name.startswith("T") else 24.0
            levels.append(Level(name, z, z - height))
            z -= height + disc_height(name)
        object.__setattr__(self, "levels", tuple(levels))

    # -- geometry helpers -------------------------------------------------------------------------
    def level(self, name: str) -> Level:
        for lv in self.levels:
            if lv.name == name:
                return lv
        span = f"{self.levels[0].name}-{self.levels[-1].name}"
        raise ValueError(f"level {name!r} is not in this phantom ({span})")

    def canal_y(self, z: np.ndarray | float) -> np.ndarray:
        """AP position (y, mm) of the canal centre at height z: a gentle lordotic curve."""
        span = self.z_top - self.levels[-1].z_bottom
        phase = (np.asarray(z, dtype=float) - self.levels[-1].z_bottom) / span
        return np.asarray(self.canal_y_mm - self.curve_amplitude_mm * np.sin(np.pi * phase))

    def cord_ap_semi_axis(self, z: np.ndarray | float) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        b = np.full(z.shape, self.cord_ap_semi_axis_mm)
        c = self.compression
        if c is not None:
            d = np.abs(z - c.z_centre) / c.half_length_mm
            taper = np.where(d < 1.0, 0.5 * (1.0 + np.cos(np.pi * np.minimum(d, 1.0))), 0.0)
            b = b - (self.cord_ap_semi_axis_mm - c.min_ap_semi_axis_mm) * taper
        return b

    def cord_csa_mm2(self, z: float) -> float:
        """Cross-sectional area of the cord perpendicular to its axis at height z (analytic)."""
        return float(math.pi * self.cord_rl_semi_axis_mm * float(self.cord_ap_semi_axis(z)))


def disc_height(name: str) -> float:
    return 5.0 if name.startswith("C") else 6.0 if name.startswith("T") else 10.0


def _ellipse(dx: np.ndarray, dy: np.ndarray, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    return np.asarray((dx / a) ** 2 + (dy / b) ** 2 <= 1.0)


def tissue_labels(model: SpineModel, points: np.ndarray) -> np.ndarray:
    """Label every point (N x 3 array of LPS mm) with a :class:`Tissue` value (uint8 array of N)."""
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must have shape (N, 3), got {points.shape}")
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    labels = np.zeros(x.shape, dtype=np.uint8)
    yc = model.canal_y(z)
    # Neck/trunk: subcutaneous fat around muscle.
    body_dx, body_dy = x, y - (yc - 25.0)
    labels[_ellipse(body_dx, body_dy, 75.0, 80.0)] = Tissue.FAT
    labels[_ellipse(body_dx, body_dy, 66.0, 71.0)] = Tissue.MUSCLE
    # Vertebral bodies, discs and posterior elements, level by level.
    tops = np.array([lv.z_top for lv in model.levels])
    bottoms = np.array([lv.z_bottom for lv in model.levels])
    index = np.searchsorted(-tops, -z, side="left") - 1  # last level whose top is above z
    valid = index >= 0
    idx = np.clip(index, 0, len(model.levels) - 1)
    in_body = valid & (z <= tops[idx]) & (z >= bottoms[idx])
    in_disc = (
        valid & (z < bottoms[idx]) & (z >= bottoms[idx] - np.array([disc_height(lv.name) for lv in model.levels])[idx])
    )
    cervical = np.array([lv.name.startswith("C") for lv in model.levels])[idx]
    vb_a = np.where(cervical, 11.0, 15.0)
    vb_b = np.where(cervical, 8.0, 12.0)
    vb_dy = y - (yc - model.sac_ap_semi_axis_mm - 1.5 - vb_b)
    in_vb_shape = _ellipse(x, vb_dy, vb_a, vb_b)
    labels[in_body & in_vb_shape] = Tissue.CORTEX
    cortex = 1.2
    dist_top = tops[idx] - z
    dist_bottom = z - bottoms[idx]
    marrow = in_body & _ellipse(x, vb_dy, vb_a - cortex, vb_b - cortex) & (dist_top > cortex) & (dist_bottom > cortex)
    labels[marrow] = Tissue.MARROW
    labels[in_disc & in_vb_shape] = Tissue.DISC_ANNULUS
    labels[in_disc & _ellipse(x, vb_dy, 0.6 * vb_a, 0.55 * vb_b)] = Tissue.DISC_NUCLEUS
    # The dens of C2: a peg of bone (cortex around marrow) above the front half of the C2 body.
    if model.levels[0].name == "C2" and model.dens_height_mm > 0:
        dens_dy = y - (yc - model.sac_ap_semi_axis_mm - 1.5 - 5.0)
        above = (z > model.z_top) & (z <= model.z_top + model.dens_height_mm)
        labels[above & _ellipse(x, dens_dy, 5.0, 5.0)] = Tissue.CORTEX
        labels[above & (z <= model.z_top + model.dens_height_mm - 1.2) & _ellipse(x, dens_dy, 3.8, 3.8)] = Tissue.MARROW
    # Posterior elements: laminae and spinous process behind the canal, level by level.
    behind = y - yc - model.sac_ap_semi_axis_mm  # distance behind the back of the sac
    lamina = in_body & (behind > 2.0) & (behind < 6.0) & (np.abs(x) < model.sac_rl_semi_axis_mm + 4.0)
    spinous = in_body & (behind >= 6.0) & (behind < 30.0) & (np.abs(x) < 3.5)
    labels[lamina | spinous] = Tissue.CORTEX
    labels[(lamina | spinous) & (np.abs(x) < 2.0) & (behind > 3.0)] = Tissue.MARROW
    # Epidural fat around the thecal sac.
    labels[_ellipse(x, y - yc, model.sac_rl_semi_axis_mm + 1.2, model.sac_ap_semi_axis_mm + 1.5)] = Tissue.FAT
    # Thecal sac (CSF), optionally displaced from the front by a ventral epidural collection.
    sac = _ellipse(x, y - yc, model.sac_rl_semi_axis_mm, model.sac_ap_semi_axis_mm)
    fluid_here = np.zeros(x.shape, dtype=bool)
    ef = model.epidural_fluid
    if ef is not None:
        z_hi = model.level(ef.upper).z_top
        z_lo = model.level(ef.lower).z_bottom
        fluid_here = (z <= z_hi) & (z >= z_lo)
        front = yc - model.sac_ap_semi_axis_mm
        dura_y = front + ef.thickness_mm
        fluid = (
            fluid_here
            & _ellipse(x, y - yc, model.sac_rl_semi_axis_mm + 0.8, model.sac_ap_semi_axis_mm + 1.4)
            & (y < dura_y)
            & (np.abs(x) < 8.5)
        )
        labels[fluid] = Tissue.EPIDURAL_FLUID
        sac = sac & ~(fluid_here & (y < dura_y + 0.6))
        labels[fluid_here & sac & (y < dura_y + 1.2) & (np.abs(x) < 8.5)] = Tissue.DURA
        sac = sac & ~(fluid_here & (y < dura_y + 1.2) & (np.abs(x) < 8.5))
    labels[sac] = Tissue.CSF
    # Cord.
    cord_b = model.cord_ap_semi_axis(z)
    cord_dy = y - (yc + 0.5)
    cord = _ellipse(x, cord_dy, model.cord_rl_semi_axis_mm, cord_b)
    labels[cord] = Tissue.CORD
    ah = model.anterior_horn_lesion
    if ah is not None:
        lv = model.level(ah.level)
        in_z = (z <= lv.z_top) & (z >= lv.z_bottom)
        for side in (-1.0, 1.0):
            dx = x - side * 0.4 * model.cord_rl_semi_axis_mm
            dy = cord_dy + 0.45 * cord_b
            labels[cord & in_z & _ellipse(dx, dy, ah.radius_mm, ah.radius_mm)] = Tissue.CORD_LESION
    # Focal marrow lesions.
    for lesion, tissue in zip(model.marrow_lesions, LESION_TISSUES, strict=False):
        centre = lesion_centre(model, lesion)
        r2 = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2
        labels[(labels == Tissue.MARROW) & (r2 <= lesion.radius_mm**2)] = tissue
    return labels


def vertebral_body_centre(model: SpineModel, name: str) -> tuple[float, float, float]:
    """Centre (LPS mm) of the body of vertebra ``name``."""
    lv = model.level(name)
    vb_b = 8.0 if name.startswith("C") else 12.0
    yc = float(model.canal_y(lv.z_centre))
    return (0.0, yc - model.sac_ap_semi_axis_mm - 1.5 - vb_b, lv.z_centre)


def lesion_centre(model: SpineModel, lesion: MarrowLesion) -> tuple[float, float, float]:
    cx, cy, cz = vertebral_body_centre(model, lesion.level)
    ox, oy, oz = lesion.centre_offset_mm
    return (cx + ox, cy + oy, cz + oz)
