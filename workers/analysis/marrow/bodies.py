"""Vertebral marrow: bodies on sagittal T1, focal marrow ROIs on the ADC map, ROI statistics.

Vertebral bodies are found by classical image processing on a sagittal T1 (fatty marrow bright): inside a
band in front of the spinal canal (the canal comes from the cord centre line of a sagittal T2), an Otsu
threshold, hole filling (a dark lesion inside a bright body stays in the body), an opening that cuts the
thin epidural fat away, and 3-D connected components. Automatic candidate ROIs are connected voxels of the
ADC map, inside bodies, whose ADC departs from the patient's own normal marrow (median +/- max(3 robust
SD, 0.2e-3 mm^2/s)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from workers.analysis.volume import Volume


@dataclass(frozen=True)
class VertebralBody:
    """One body found on the sagittal image: a label, its level name when known, its centre (LPS mm)."""

    label: int
    level: str | None
    centre_mm: tuple[float, float, float]
    voxels: int


def otsu(values: np.ndarray, bins: int = 128) -> float:
    """Otsu's threshold of a 1-D sample."""
    if values.size == 0:
        raise ValueError("values is empty")
    hist, edges = np.histogram(values, bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres) / np.maximum(w0, 1)
    m1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    return float(centres[int(np.argmax(between[:-1]))])


def find_vertebral_bodies(
    t1: Volume, canal_points: np.ndarray, levels: Mapping[str, tuple[float, float]] | None = None
) -> tuple[np.ndarray, list[VertebralBody]]:
    """Label map (on the T1 grid) of vertebral bodies, and the bodies from top to bottom.

    ``canal_points``: N x 3 patient coordinates along the canal (cord centre line), any order.
    ``levels``: level name -> (z_top, z_bottom) in mm, to name each body by its centre.
    """
    if canal_points.ndim != 2 or canal_points.shape[1] != 3 or len(canal_points) < 2:
        raise ValueError(f"canal_points must be N x 3 with N >= 2, got shape {canal_points.shape}")
    order = np.argsort(canal_points[:, 2])
    cz, cy, cx = canal_points[order, 2], canal_points[order, 1], canal_points[order, 0]
    k, r, c = np.meshgrid(*(np.arange(n) for n in t1.array.shape), indexing="ij")
    pts = t1.to_patient(np.column_stack([k.ravel(), r.ravel(), c.ravel()])).reshape(*t1.array.shape, 3)
    y_canal = np.interp(pts[..., 2], cz, cy)
    x_canal = np.interp(pts[..., 2], cz, cx)
    in_z = (pts[..., 2] >= cz[0]) & (pts[..., 2] <= cz[-1])
    ahead = y_canal - pts[..., 1]  # mm in front of the canal centre (LPS: anterior is -y)
    band = in_z & (ahead >= 6.0) & (ahead <= 45.0) & (np.abs(pts[..., 0] - x_canal) <= 14.0)
    if band.sum() < 100:
        return np.zeros(t1.array.shape, dtype=np.int32), []
    smooth = ndimage.gaussian_filter(t1.array.astype(float), sigma=(0, 0.7, 0.7))
    bright = band & (smooth > otsu(smooth[band]))
    _, sr, sc = t1.spacing
    radius = max(1, int(round(1.5 / min(sr, sc))))
    structure = ndimage.iterate_structure(ndimage.generate_binary_structure(2, 1), radius)[None]
    filled = np.stack([ndimage.binary_fill_holes(s) for s in bright]) & band
    opened = ndimage.binary_opening(filled, structure=structure)
    labels, n = ndimage.label(opened)
    bodies = []
    out = np.zeros(labels.shape, dtype=np.int32)
    voxel_mm3 = float(np.prod(t1.spacing))
    for lab in range(1, n + 1):
        member = labels == lab
        if member.sum() * voxel_mm3 < 400.0:
            continue
        centre = pts[member].mean(axis=0)
        z_extent = float(np.ptp(pts[member][:, 2]))
        if z_extent < 6.0:
            continue
        name = None
        for level, (z_top, z_bottom) in (levels or {}).items():
            if z_bottom <= centre[2] <= z_top:
                name = level
        bodies.append((centre, member, name))
    bodies.sort(key=lambda b: -b[0][2])
    result = []
    for i, (centre, member, name) in enumerate(bodies, start=1):
        out[member] = i
        result.append(VertebralBody(i, name, (float(centre[0]), float(centre[1]), float(centre[2])), int(member.sum())))
    return out, result


def resample_labels(labels: Volume, target: Volume) -> np.ndarray:
    """Nearest-neighbour labels of ``labels`` at every voxel centre of ``target``."""
    k, r, c = np.meshgrid(*(np.arange(n) for n in target.array.shape), indexing="ij")
    pts = target.to_patient(np.column_stack([k.ravel(), r.ravel(), c.ravel()]))
    idx = labels.to_index(pts).T
    values = ndimage.map_coordinates(labels.array, idx, order=0, mode="constant", cval=0)
    return np.asarray(values.reshape(target.array.shape)).astype(np.int32)


def sample_at(volume: Volume, points: np.ndarray) -> np.ndarray:
    """Trilinear samples of ``volume`` at patient points (N x 3); NaN outside."""
    idx = volume.to_index(points).T
    return np.asarray(ndimage.map_coordinates(volume.array.astype(float), idx, order=1, mode="constant", cval=np.nan))


@dataclass(frozen=True)
class MarrowRoi:
    """A marrow ROI on the ADC grid with its statistics (ADC in mm^2/s)."""

    name: str
    mask: np.ndarray
    level: str | None
    adc_mean: float
    adc_sd: float
    voxels: int
    origin: str  # "automatic" or "annotation"


def _inplane_erode(mask: np.ndarray) -> np.ndarray:
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    return np.asarray(ndimage.binary_erosion(mask, structure=structure))


def normal_marrow(adc: np.ndarray, body_mask: np.ndarray) -> tuple[float, float]:
    """Median and robust SD (1.4826 MAD) of ADC over the eroded body voxels."""
    core = _inplane_erode(body_mask)
    values = adc[core if core.sum() >= 20 else body_mask]
    if values.size == 0:
        raise ValueError("no vertebral body voxel on the ADC grid")
    median = float(np.median(values))
    return median, float(1.4826 * np.median(np.abs(values - median)))


def roi_stats(adc: np.ndarray, mask: np.ndarray) -> tuple[float, float, int]:
    values = adc[mask]
    if values.size == 0:
        return float("nan"), float("nan"), 0
    return float(values.mean()), float(values.std(ddof=1)) if values.size > 1 else 0.0, int(values.size)


def candidate_rois(
    adc: Volume, body_labels: np.ndarray, bodies: list[VertebralBody], *, min_voxels: int = 10
) -> tuple[list[MarrowRoi], float]:
    """Focal regions inside bodies whose ADC departs from normal marrow; also returns the normal ADC."""
    body_mask = _inplane_erode(body_labels > 0)  # keep clear of cortex, endplates and discs
    median, robust_sd = normal_marrow(adc.array, body_mask)
    delta = max(3.0 * robust_sd, 0.2e-3)
    departs = body_mask & (np.abs(adc.array - median) > delta)
    labels, n = ndimage.label(departs)
    rois: list[MarrowRoi] = []
    names = {b.label: b.level for b in bodies}
    for lab in range(1, n + 1):
        region = labels == lab
        if region.sum() < min_voxels:
            continue
        core = _inplane_erode(region)
        stats_mask = core if core.sum() >= min_voxels else region
        mean, sd, count = roi_stats(adc.array, stats_mask)
        body = int(np.bincount(body_labels[region]).argmax())
        level = names.get(body)
        rois.append(
            MarrowRoi(
                f"marrow candidate {len(rois) + 1}" + (f" ({level})" if level else ""),
                stats_mask,
                level,
                mean,
                sd,
                count,
                "automatic",
            )
        )
    normal_values = adc.array[body_mask & ~departs]
    normal = float(np.median(normal_values)) if normal_values.size else median
    return rois, normal


def relative_signal(volume: Volume, adc: Volume, roi: np.ndarray, normal: np.ndarray) -> str | None:
    """'low', 'iso' or 'high' signal of the ROI against normal marrow in ``volume`` (VB-SIG-1 input)."""

    def mean_at(mask: np.ndarray) -> float:
        idx = np.argwhere(mask)
        if idx.size == 0:
            return float("nan")
        values = sample_at(volume, adc.to_patient(idx))
        return float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")

    roi_value, normal_value = mean_at(roi), mean_at(normal)
    if not (np.isfinite(roi_value) and np.isfinite(normal_value)) or normal_value <= 0:
        return None
    ratio = roi_value / normal_value
    return "low" if ratio < 0.8 else "high" if ratio > 1.25 else "iso"
