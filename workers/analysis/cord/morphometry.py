"""Cord morphometry from a :class:`CordSegmentation` (criteria CORD-MORPH-1).

Per slice: cross-sectional area corrected for the angle between the cord and the slice (as Spinal Cord
Toolbox does: CSA x cos(angle)), antero-posterior and right-left diameters of the contour, and the
compression ratio AP/RL. Over the cord, where the levels are named: the level of maximum compression and a
normalised MSCC (the AP diameter at the narrowest point against the cord above and below it, each divided by
the PAM50 normative AP of its level), above the conus only.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import numpy as np
from scipy.ndimage import median_filter

from workers.analysis.cord.segmentation import CordSegmentation

NORMATIVE_CSV = "pam50_morphometry_by_level.csv"


@dataclass(frozen=True)
class SliceMorphometry:
    """One slice: patient z (mm), CSA (mm^2, angle-corrected), AP and RL diameters (mm), cord angle."""

    slice_index: int
    z_mm: float
    csa_mm2: float
    ap_mm: float
    rl_mm: float
    angle_deg: float

    @property
    def compression_ratio(self) -> float:
        return self.ap_mm / self.rl_mm


@dataclass(frozen=True)
class Normative:
    """Healthy mean and SD of one metric at one vertebral level."""

    level: str
    n_subjects: int
    area_mean: float
    area_sd: float
    ap_mean: float
    ap_sd: float
    rl_mean: float
    rl_sd: float


def load_normative(
    dataset: str = "spine-generic_multi-subject", structure: str = "spinal_cord"
) -> dict[str, Normative]:
    """Normative cord morphometry per level (PAM50-normalised metrics; see workers/analysis/data)."""
    text = resources.files("workers.analysis").joinpath("data", NORMATIVE_CSV).read_text()
    rows = [r for r in csv.DictReader(text.splitlines())]
    out: dict[str, Normative] = {}
    for name in (dataset, "whole-spine"):  # levels missing from the first dataset come from the second
        for r in rows:
            if r["dataset"] == name and r["structure"] == structure and r["vertebral_level"] not in out:
                out[r["vertebral_level"]] = Normative(
                    r["vertebral_level"],
                    int(r["n_subjects"]),
                    float(r["area_mm2_mean"]),
                    float(r["area_mm2_sd"]),
                    float(r["ap_mm_mean"]),
                    float(r["ap_mm_sd"]),
                    float(r["rl_mm_mean"]),
                    float(r["rl_mm_sd"]),
                )
    if not out:
        raise ValueError(f"no normative rows for dataset {dataset!r} and structure {structure!r}")
    return out


def _polygon(radii: np.ndarray, angles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return radii * np.cos(angles), radii * np.sin(angles)


def slice_morphometry(seg: CordSegmentation) -> list[SliceMorphometry]:
    """Morphometry of every slice where the cord was found."""
    view = seg.view
    _, sy, sx = view.spacing
    angles = seg.angles
    found = np.nonzero(seg.found)[0]
    if found.size == 0:
        return []
    centres_mm = view.to_patient(np.column_stack([found, seg.centres[found]]))
    # Tangent of the centre line in patient space (smoothed finite differences).
    if len(found) > 2:
        tangent = np.gradient(centres_mm, axis=0)
    else:
        tangent = np.tile(view.slice_normal * np.sign(view.affine[2, 0] or 1.0), (len(found), 1))
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    # In-plane unit directions of the view (x: view axis 2, y: view axis 1) in patient space.
    ax_y = view.affine[:3, 1] / sy
    ax_x = view.affine[:3, 2] / sx
    out = []
    for i, k in enumerate(found):
        px, py = _polygon(seg.radii[k], angles)  # mm along view x and y
        area = 0.5 * abs(float(np.dot(px, np.roll(py, -1)) - np.dot(py, np.roll(px, -1))))
        cos_angle = abs(float(tangent[i] @ view.slice_normal))
        pts = np.outer(px, ax_x) + np.outer(py, ax_y)  # patient-space offsets
        ap = float(np.ptp(pts[:, 1]))
        rl = float(np.ptp(pts[:, 0]))
        # An oblique slice stretches the contour along the tilt; project the AP extent back.
        ap *= cos_angle if abs(tangent[i][1]) > abs(tangent[i][0]) else 1.0
        rl *= cos_angle if abs(tangent[i][0]) >= abs(tangent[i][1]) else 1.0
        out.append(
            SliceMorphometry(
                int(k),
                float(centres_mm[i, 2]),
                area * cos_angle,
                ap,
                rl,
                float(np.degrees(np.arccos(min(1.0, cos_angle)))),
            )
        )
    return out


#: A reference (cord above or below, AP over the PAM50 AP) must look like healthy cord: within about 3 SD of
#: the norm, allowing for the patient's size; and the two references must agree. Otherwise the cord there
#: was not measured well (field edge, CSF taken for cord) and no ratio is formed against it.
REFERENCE_RANGE = (0.7, 1.4)
REFERENCE_AGREEMENT = 0.25

#: Levels above the conus (the cord ends at about L1; below it the cauda equina is no cord to measure).
ABOVE_CONUS: tuple[str, ...] = ("C1", "C2", "C3", "C4", "C5", "C6", "C7") + tuple(f"T{i}" for i in range(1, 13))


@dataclass(frozen=True)
class CompressionSummary:
    """The narrowest point of the cord and its MSCC-style ratio against the cord above and below it.

    Every AP diameter is first divided by the healthy (PAM50) AP of its level, so that the cord's natural
    tapering (7.5 mm at C5, 6.3 mm at T1) is not taken for narrowing.
    """

    z_mm: float
    level: str
    min_ap_mm: float
    min_csa_mm2: float
    compression_ratio: float
    reference_ap_mm: float
    mscc_percent: float


def _level_at(z: float, levels: Mapping[str, tuple[float, float]]) -> str | None:
    return next((name for name, (top, bottom) in levels.items() if bottom <= z <= top), None)


def compression_summary(
    slices: list[SliceMorphometry],
    levels: Mapping[str, tuple[float, float]],
    normative: Mapping[str, Normative] | None = None,
    *,
    window_mm: float = 10.0,
    margin_mm: float = 10.0,
) -> CompressionSummary | None:
    """Normalised MSCC (as ``sct_compute_compression``): 100 x (1 - r_min / mean(r_above, r_below)), where
    r is the AP diameter (3-slice median) over the PAM50 AP of its level and r_above/r_below the median r
    within ``window_mm`` beyond ``margin_mm`` above and below; the narrowest is taken among the slices that
    have both references, each like healthy cord and agreeing with the other. Only slices in named levels
    above the conus count. None without levels, or when no slice has such references."""
    if not levels:
        return None
    normative = load_normative() if normative is None else normative
    ordered = sorted(slices, key=lambda s: s.z_mm)
    kept = []
    for s in ordered:
        level = _level_at(s.z_mm, levels)
        if level in ABOVE_CONUS and level in normative:
            kept.append((s, level))
    if len(kept) < 5:
        return None
    z = np.array([s.z_mm for s, _ in kept])
    ap = median_filter(np.array([s.ap_mm for s, _ in kept]), size=3, mode="nearest")
    norm = np.array([normative[level].ap_mean for _, level in kept])
    ratio = ap / norm
    # The narrowest slice among those with cord both above and below it (an MSCC needs both references).
    best: tuple[float, int, float] | None = None
    for i in range(len(kept)):
        above = ratio[(z > z[i] + margin_mm) & (z <= z[i] + margin_mm + window_mm)]
        below = ratio[(z < z[i] - margin_mm) & (z >= z[i] - margin_mm - window_mm)]
        if not above.size or not below.size:
            continue
        r_above, r_below = float(np.median(above)), float(np.median(below))
        healthy = all(REFERENCE_RANGE[0] <= r <= REFERENCE_RANGE[1] for r in (r_above, r_below))
        if healthy and abs(r_above - r_below) <= REFERENCE_AGREEMENT * max(r_above, r_below):
            if best is None or ratio[i] < best[0]:
                best = (float(ratio[i]), i, 0.5 * (r_above + r_below))
    if best is None:
        return None
    _, i, reference = best
    narrowest, level = kept[i]
    return CompressionSummary(
        float(z[i]),
        level,
        float(ap[i]),
        float(narrowest.csa_mm2),
        float(narrowest.compression_ratio),
        reference * float(norm[i]),
        100.0 * (1.0 - float(ratio[i]) / reference),
    )


@dataclass(frozen=True)
class LevelMorphometry:
    """Mean morphometry over the slices of one vertebral level, with z-scores against the norm."""

    level: str
    n_slices: int
    csa_mm2: float
    ap_mm: float
    rl_mm: float
    csa_z: float | None
    ap_z: float | None
    rl_z: float | None


def by_level(
    slices: list[SliceMorphometry],
    levels: Mapping[str, tuple[float, float]],
    normative: Mapping[str, Normative] | None = None,
) -> list[LevelMorphometry]:
    """Average per vertebral level; ``levels`` maps a level name to its (z_top, z_bottom) in mm."""
    normative = load_normative() if normative is None else normative
    out = []
    for name, (z_top, z_bottom) in levels.items():
        if z_top < z_bottom:
            raise ValueError(f"level {name}: its top (z {z_top:.1f} mm) lies below its bottom (z {z_bottom:.1f} mm)")
        sel = [s for s in slices if z_bottom <= s.z_mm <= z_top]
        if not sel:
            continue
        csa = float(np.mean([s.csa_mm2 for s in sel]))
        ap = float(np.mean([s.ap_mm for s in sel]))
        rl = float(np.mean([s.rl_mm for s in sel]))
        norm = normative.get(name)
        out.append(
            LevelMorphometry(
                name,
                len(sel),
                csa,
                ap,
                rl,
                None if norm is None else (csa - norm.area_mean) / norm.area_sd,
                None if norm is None else (ap - norm.ap_mean) / norm.ap_sd,
                None if norm is None else (rl - norm.rl_mean) / norm.rl_sd,
            )
        )
    return out
