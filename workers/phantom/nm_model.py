"""An analytic In-111 DTPA cisternography patient: where the tracer is at each time point, and its planar image.

The patient lies supine; z is superior (mm, 0 at the foramen magnum), x runs to the patient's left. The tracer
is injected into the lumbar sac and rises along the spinal subarachnoid column into the basal cisterns and,
by 24 h, over the cerebral convexity; it is cleared into the blood, the kidneys and the bladder. A leak adds
paraspinal accumulation beside the column. The planar view of each compartment is its projected activity,
attenuated by the tissue in front of it (narrow-beam mu for In-111, 171/245 keV in water), blurred by the
collimator's depth-dependent resolution, and sampled with Poisson noise.

The vertebral heights here (body plus the disc below, adult, scaled by ``stature``) are the phantom's own;
they are not the proportions the analyser uses to name levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

IN111_HALF_LIFE_H = 2.8047 * 24.0
MU_PER_MM = 0.0115  # In-111 in soft tissue (narrow beam, mean of the 171 and 245 keV lines)
SENSITIVITY_CPS_PER_MBQ = 95.0  # medium-energy collimator, both photopeaks
AIR_GAP_MM = 30.0

#: Segment height (vertebral body plus the disc below it), mm, for stature 1.0.
SEGMENTS_MM: tuple[tuple[str, float], ...] = (
    ("C1", 12.0), ("C2", 20.0), ("C3", 17.0), ("C4", 17.0), ("C5", 17.0), ("C6", 17.0), ("C7", 18.0),
    ("T1", 21.0), ("T2", 22.0), ("T3", 22.0), ("T4", 23.0), ("T5", 23.0), ("T6", 24.0), ("T7", 24.0),
    ("T8", 25.0), ("T9", 25.0), ("T10", 26.0), ("T11", 27.0), ("T12", 29.0),
    ("L1", 32.0), ("L2", 34.0), ("L3", 35.0), ("L4", 35.0), ("L5", 34.0), ("S1", 32.0),
)  # fmt: skip
FORAMEN_GAP_MM = 6.0


def collimator_fwhm_mm(distance_mm: float) -> float:
    """System resolution of a medium-energy general-purpose collimator at ``distance_mm`` from its face."""
    return 7.5 + 0.068 * distance_mm


@dataclass(frozen=True)
class Accumulation:
    """Paraspinal tracer outside the column: levels, side(s) and relative strength per side."""

    upper: str
    lower: str
    left: float  # activity per unit length relative to the column, patient's left
    right: float
    lateral_mm: float = 24.0


@dataclass(frozen=True)
class Dynamics:
    """How the tracer moves: fractions of the injected activity (before physical decay)."""

    residual_24h: float = 0.52  # CSF fraction left at 24 h (decay-corrected)
    convexity_24h: float = 2.5  # peak convexity density at 24 h relative to the basal cisterns (normal: > 1)
    bladder_from_h: float = 6.0  # first time point with bladder activity
    cistern_arrival_h: float = 2.0


@dataclass
class CisternographyPatient:
    """The anatomy and tracer course of one patient."""

    stature: float = 1.04
    injected_mbq: float = 37.0
    accumulations: tuple[Accumulation, ...] = ()
    dynamics: Dynamics = field(default_factory=Dynamics)
    scoliosis_mm: float = 0.0  # lateral bow of the column at mid-thoracic level
    levels: dict[str, tuple[float, float]] = field(init=False)

    def __post_init__(self) -> None:
        if not 0.8 <= self.stature <= 1.2:
            raise ValueError(f"stature must be 0.8-1.2, got {self.stature}")
        z = -FORAMEN_GAP_MM * self.stature
        self.levels = {}
        for name, height in SEGMENTS_MM:
            h = height * self.stature
            self.levels[name] = (z, z - h)
            z -= h

    @property
    def sac_end_z(self) -> float:
        """The caudal end of the thecal sac (top of S2)."""
        return self.levels["S1"][1]

    def column_x(self, z: np.ndarray) -> np.ndarray:
        """Lateral position of the column (mm; scoliosis bows it towards the patient's left)."""
        mid, half = -200.0 * self.stature, 180.0 * self.stature
        bow = np.clip(1.0 - ((z - mid) / half) ** 2, 0.0, None)
        return self.scoliosis_mm * bow

    def back_depth_mm(self, z: float) -> float:
        """Depth of the column below the skin of the back: neck, thorax (kyphosis), loin (lordosis)."""
        if z > self.levels["C7"][1]:
            return 50.0
        if z > self.levels["T12"][1]:
            return 42.0
        return 62.0

    def thickness_mm(self, z: float) -> float:
        """Antero-posterior body thickness at height z."""
        if z > 10.0:
            return 185.0  # head
        if z > self.levels["C7"][1]:
            return 120.0
        if z > self.levels["T12"][1]:
            return 215.0
        return 225.0


@dataclass(frozen=True)
class Compartment:
    """One activity map (MBq per pixel) at one depth below the anterior skin."""

    activity: np.ndarray
    depth_from_front_mm: float
    thickness_mm: float


class Grid:
    """The camera matrix: ``rows`` x ``columns`` pixels of ``pixel_mm``, top row at ``z_top``, x centred."""

    def __init__(self, rows: int = 512, columns: int = 192, pixel_mm: float = 2.0, z_top: float = 235.0) -> None:
        self.rows, self.columns, self.pixel_mm, self.z_top = rows, columns, pixel_mm, z_top
        self.z = z_top - pixel_mm * np.arange(rows)
        self.x = (np.arange(columns) - (columns - 1) / 2.0) * pixel_mm  # patient's left positive
        self.zz, self.xx = np.meshgrid(self.z, self.x, indexing="ij")


def _clearance(t: float, dyn: Dynamics) -> float:
    """Fraction of the injected activity still in the CSF at t hours (exponential through the 24-h value)."""
    rate = -math.log(dyn.residual_24h) / 24.0
    return math.exp(-rate * t)


def compartments(p: CisternographyPatient, grid: Grid, t: float) -> list[Compartment]:
    """The activity maps of every compartment at ``t`` hours after injection (before physical decay)."""
    dyn = p.dynamics
    zz, xx = grid.zz, grid.xx
    csf = _clearance(t, dyn)
    out: list[Compartment] = []
    # Spinal column: rises from the sac end; the front reaches the cisterns at ``cistern_arrival_h``.
    length = -p.sac_end_z
    front = p.sac_end_z + length * min(1.0, t / dyn.cistern_arrival_h) + 30.0
    head_share = min(1.0, max(0.0, (t - 0.5 * dyn.cistern_arrival_h) / (2.5 * dyn.cistern_arrival_h)))
    column_share = csf * (1.0 - 0.55 * head_share)
    gradient = np.exp(-(zz - p.sac_end_z) / (150.0 + 200.0 * t))
    inside = (zz <= 0.0) & (zz >= p.sac_end_z)
    rise = 1.0 / (1.0 + np.exp((zz - front) / 15.0))
    lateral = np.abs(xx - p.column_x(zz))
    profile = np.clip(1.0 - (lateral / 8.0) ** 2, 0.0, None)  # a 16-mm sac seen from the front
    sleeves = 0.05 * np.exp(-(((lateral - 12.0) / 3.0) ** 2))  # normal root sleeves, both sides
    density = inside * rise * gradient * (profile + sleeves)
    # Leak: paraspinal accumulation beside the column.
    leak = np.zeros_like(zz)
    for acc in p.accumulations:
        top, bottom = p.levels[acc.upper][0], p.levels[acc.lower][1]
        reached = 1.0 / (1.0 + math.exp((bottom - front) / 15.0))  # the tracer front has passed the leak
        leak_time = reached * min(1.0, t / 2.5) * (0.6 if t > 12 else 1.0)
        along = 1.0 / (1.0 + np.exp((zz - top) / 4.0)) / (1.0 + np.exp((bottom - zz) / 4.0))
        cx = p.column_x(zz)
        for side, strength in ((1.0, acc.left), (-1.0, acc.right)):
            if strength > 0:
                across = np.exp(-0.5 * ((xx - cx - side * acc.lateral_mm) / 6.0) ** 2) * 1.6
                leak += strength * leak_time * along * across
    spine = density + leak
    total = float(spine.sum())
    spine_map = spine * (p.injected_mbq * column_share / total) if total > 0 else spine
    bounds = (0.0, p.levels["C7"][1], p.levels["T12"][1], p.sac_end_z - 60.0)  # cervical, thoracic, lumbar
    for z_hi, z_lo in zip(bounds[:-1], bounds[1:], strict=True):
        part = np.where((zz <= z_hi) & (zz > z_lo), spine_map, 0.0)
        zc = 0.5 * (z_hi + z_lo)
        out.append(Compartment(part, p.thickness_mm(zc) - p.back_depth_mm(zc), p.thickness_mm(zc)))
    # Head: basal cisterns (a trident at the skull base) and the convexity (a cap under the vertex).
    head = csf * 0.55 * head_share * p.injected_mbq
    cistern = np.exp(-0.5 * (((zz - 40.0) / 14.0) ** 2 + (xx / 22.0) ** 2))
    cistern += 0.6 * np.exp(-0.5 * (((zz - 14.0) / 9.0) ** 2 + (xx / 14.0) ** 2))  # cisterna magna
    cistern += 0.5 * np.exp(-0.5 * (((zz - 55.0) / 10.0) ** 2 + ((np.abs(xx) - 28.0) / 9.0) ** 2))
    r = np.hypot(xx / 78.0, (zz - 95.0) / 105.0)
    cap = np.exp(-0.5 * ((r - 0.88) / 0.10) ** 2) * (zz > 95.0)
    convexity_weight = min(1.0, max(0.0, (t - 4.0) / 20.0))
    cap_density = dyn.convexity_24h * convexity_weight
    # per-pixel densities: the cap's peak density is ``cap_density`` times the cisterns' peak density
    cistern_map = cistern * (1.0 - 0.8 * convexity_weight)
    cap_map = cap * cap_density * (1.0 - 0.8 * convexity_weight) if cap_density > 0 else cap * 0.0
    norm = float(cistern_map.sum() + cap_map.sum()) or 1.0
    out.append(Compartment((cistern_map + cap_map) * head / norm, 92.0, 185.0))
    # Cleared tracer: blood background over the body, kidneys, bladder.
    cleared = p.injected_mbq * (1.0 - csf)
    body = ((np.abs(xx) < 150.0) & (zz < -40.0) & (zz > p.sac_end_z - 160.0)) | (
        np.hypot(xx / 75.0, (zz - 95.0) / 110.0) < 1.0
    )
    blood = 0.10 * cleared * body / max(float(body.sum()), 1.0)
    out.append(Compartment(blood, 100.0, 200.0))
    kz = p.levels["L1"][0]
    kidneys = sum(np.exp(-0.5 * (((xx - s * 62.0) / 22.0) ** 2 + ((zz - kz) / 48.0) ** 2)) for s in (-1.0, 1.0))
    kidney_share = 0.06 * cleared * min(1.0, t / 2.0)
    out.append(Compartment(kidneys * kidney_share / float(kidneys.sum()), 155.0, 225.0))
    if t >= dyn.bladder_from_h:
        bladder = np.exp(-0.5 * ((xx / 30.0) ** 2 + ((zz - (p.sac_end_z - 95.0)) / 26.0) ** 2))
        share = 0.5 * cleared
        out.append(Compartment(bladder * share / float(bladder.sum()), 60.0, 200.0))
    return out


def planar_view(
    p: CisternographyPatient,
    grid: Grid,
    t: float,
    view: str,
    duration_s: float,
    rng: np.random.Generator,
    *,
    shift_mm: tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Counts (uint16, rows x columns) of the ``view`` ("anterior" or "posterior") at ``t`` hours.

    The posterior view is mirrored so that the image is as the camera behind the patient sees it (patient's
    left on the image left). ``shift_mm`` (dz, dx) moves the patient on the detector (motion between views).
    """
    if view not in ("anterior", "posterior"):
        raise ValueError(f"view must be 'anterior' or 'posterior', got {view!r}")
    decay = 0.5 ** (t / IN111_HALF_LIFE_H)
    expected = np.zeros((grid.rows, grid.columns))
    for comp in compartments(p, grid, t):
        depth = comp.depth_from_front_mm if view == "anterior" else comp.thickness_mm - comp.depth_from_front_mm
        sigma = collimator_fwhm_mm(depth + AIR_GAP_MM) / 2.355 / grid.pixel_mm
        blurred = ndimage.gaussian_filter(comp.activity, sigma)
        expected += blurred * math.exp(-MU_PER_MM * depth)
    expected *= decay * SENSITIVITY_CPS_PER_MBQ * duration_s
    if shift_mm != (0.0, 0.0):
        expected = ndimage.shift(expected, (shift_mm[0] / grid.pixel_mm, shift_mm[1] / grid.pixel_mm), order=1)
    if view == "posterior":
        expected = expected[:, ::-1]
    counts = rng.poisson(np.clip(expected, 0.0, None))
    return np.clip(counts, 0, 65535).astype(np.uint16)
