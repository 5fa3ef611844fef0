"""The contrast-filled dural sac and contrast outside it, on an axial CT myelogram.

Thresholds come from tissue HU ranges, not from the phantoms: iodinated contrast in the sac is read between
300 HU (above cancellous bone, 100-300 HU) and 1300 HU (below cortical bone); a pixel within one pixel of
anything denser is bone edge. Single-pixel structures (noise, rims) are
removed by an opening with the 4-neighbour cross. Real cortical bone is itself 300-1300 HU (the phantoms' cortex
is denser), so the sac is the 3-D contrast component that is a fluid on most of its slices: at least 30 mm2
(smaller bits are bone; the sac's contrast covers 59-173 mm2 on the phantoms, an absolutely stenosed lumbar sac
is under 75 mm2) whose inner pixels (its edge, partial volume, left out) spread
by at most 120 HU over their middle half (liquid contrast varies only by the scanner's noise, 20-40 HU, an
interquartile range of 27-54 HU; cortex and trabeculae spread 140-530 HU on the real CT slices measured). Among
such components, the one fluid on the most slices; none, and the study holds no contrast in the sac. In each slice
the sac's own outline is the ellipse of its neighbours (median second moments over +/-8 slices, the cord's hole
filled, 1.5 pixels added for the edge blur); contrast
beyond it within 35 mm of the sac centre (canal, foramina, root sleeves), and no denser than the sac itself
(leaked contrast is diluted, never concentrated; blurred thin cortex is denser), and not part of the vertebra
(real cortex is in the contrast range: see :mod:`workers.analysis.ctm.bone`), is extra-sac contrast:

- joined to the sac in the slice (no wall between): a dural defect, continuous with the subarachnoid space;
- a thin crescent hugging the sac with epidural fat (< -30 HU) still outside it: subdural (inside the dura);
- reaching back through the interlaminar space into the muscles of the back in the midline: a needle track;
- otherwise epidural.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from workers.analysis.ctm.bone import split_bone
from workers.analysis.ctm.ct_volume import CtVolume

CONTRAST_HU = (300.0, 1300.0)
FAT_HU = -30.0
REACH_MM = 35.0
MIN_AREA_MM2 = 3.0
FLUID_MIN_MM2 = 30.0
FLUID_IQR_HU = 120.0
NEIGHBOURS = 8
_OPEN = ndimage.generate_binary_structure(2, 1)


@dataclass
class SliceContrast:
    """What one slice shows outside the sac."""

    epidural_mm2: float = 0.0
    subdural_mm2: float = 0.0
    joined_mm2: float = 0.0
    against_bone_mm2: float = 0.0  # contrast that cannot be told from the vertebra's cortex
    track: bool = False
    extra_hu: list[float] = field(default_factory=list)


@dataclass
class SacReading:
    """The sac per slice (centre in pixels, HU) and the extra-sac contrast per slice."""

    found: np.ndarray  # bool per slice
    centre: np.ndarray  # (n, 2) row, column (NaN where not found)
    sac_hu: np.ndarray  # median HU of the sac per slice (NaN where not found)
    slices: list[SliceContrast]
    sac_mask: np.ndarray  # bool like the volume: the sac's contrast per slice, the cord inside it filled in
    leak_mask: np.ndarray  # bool like the volume: extra-sac contrast read as epidural (subdural crescents left out)

    @property
    def coverage(self) -> float:
        return float(self.found.mean()) if len(self.found) else 0.0


def contrast_mask(hu: np.ndarray) -> np.ndarray:
    """Contrast-range pixels of one slice (or volume, slice by slice), bone edges and thin rims removed."""
    lo, hi = CONTRAST_HU
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[1] = _OPEN  # the cross, slice by slice
    m = (hu >= lo) & ~ndimage.binary_dilation(hu > hi, in_plane)
    return np.asarray(ndimage.binary_opening(m, in_plane))


def _moments(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    ys, xs = np.nonzero(mask)
    if ys.size < 10:
        return None
    pts = np.column_stack([ys, xs]).astype(float)
    return pts.mean(axis=0), np.cov(pts.T)


def _fluid_slices(vol: CtVolume, labels: np.ndarray, label: int, box: tuple[slice, ...]) -> int:
    """On how many of its slices component ``label`` is a fluid (large enough, homogeneous inside)."""
    px_area = vol.pixel_mm[0] * vol.pixel_mm[1]
    count = 0
    for k in range(box[0].start, box[0].stop):
        part = labels[k][box[1:]] == label
        if part.sum() * px_area < FLUID_MIN_MM2:
            continue
        inner = ndimage.binary_erosion(part, _OPEN)
        values = vol.hu[k][box[1:]][inner if inner.sum() > 5 else part]
        q1, q3 = np.percentile(values, [25, 75])
        count += bool(q3 - q1 <= FLUID_IQR_HU)
    return count


def _fluid_component(vol: CtVolume, labels: np.ndarray, objects: list[tuple[slice, ...] | None]) -> int | None:
    """The label of the sac: of the components running through at least half as many slices as the longest,
    the one that is a fluid on the most slices, if that is at least half of its own; else None."""
    spans = [(o[0].stop - o[0].start) if o is not None else 0 for o in objects]
    longest = max(spans)
    best: tuple[int, int] | None = None  # (fluid slices, label)
    for i, o in enumerate(objects):
        if o is None or spans[i] < 0.5 * longest:
            continue
        fluid = _fluid_slices(vol, labels, i + 1, o)
        if fluid >= 0.5 * spans[i] and (best is None or fluid > best[0]):
            best = (fluid, i + 1)
    return None if best is None else best[1]


def read_sac(vol: CtVolume) -> SacReading:
    """Find the sac and the extra-sac contrast in every slice."""
    n = vol.hu.shape[0]
    mask = contrast_mask(vol.hu)
    labels, count = ndimage.label(mask)
    found = np.zeros(n, dtype=bool)
    centre = np.full((n, 2), np.nan)
    sac_hu = np.full(n, np.nan)
    slices = [SliceContrast() for _ in range(n)]
    sac_mask = np.zeros(vol.hu.shape, dtype=bool)
    leak_mask = np.zeros(vol.hu.shape, dtype=bool)
    if count == 0:
        return SacReading(found, centre, sac_hu, slices, sac_mask, leak_mask)
    objects = ndimage.find_objects(labels)
    picked = _fluid_component(vol, labels, objects)
    if picked is None:
        return SacReading(found, centre, sac_hu, slices, sac_mask, leak_mask)
    sac_label = picked
    # work in a box around the sac (its extent plus the reach), slice by slice
    box = objects[sac_label - 1]
    assert box is not None
    pad_r, pad_c = (int(np.ceil((REACH_MM + 5.0) / p)) for p in vol.pixel_mm)
    r0, r1 = max(0, box[1].start - pad_r), min(vol.hu.shape[1], box[1].stop + pad_r)
    c0, c1 = max(0, box[2].start - pad_c), min(vol.hu.shape[2], box[2].stop + pad_c)
    sac = labels[:, r0:r1, c0:c1] == sac_label
    mask = mask[:, r0:r1, c0:c1]
    hu_box = vol.hu[:, r0:r1, c0:c1]
    moments: list[tuple[np.ndarray, np.ndarray] | None] = []
    for k in range(n):
        comp, ncomp = ndimage.label(sac[k])
        if ncomp == 0:
            moments.append(None)
            continue
        # the sac holds the cord: its outline is the largest component with its hole filled
        filled = [ndimage.binary_fill_holes(comp == lab) for lab in range(1, ncomp + 1)]
        moments.append(_moments(max(filled, key=lambda f: int(f.sum()))))
    areas = np.array([np.nan if m is None else float(np.sqrt(max(np.linalg.det(m[1]), 0.0))) for m in moments])
    px_area = vol.pixel_mm[0] * vol.pixel_mm[1]
    rr, cc = np.mgrid[0 : r1 - r0, 0 : c1 - c0]
    for k in range(n):
        lo, hi = max(0, k - NEIGHBOURS), min(n, k + NEIGHBOURS + 1)
        near = [j for j in range(lo, hi) if moments[j] is not None]
        if not near or moments[k] is None:
            continue
        # neighbours' outline: the median covariance of the slices whose sac is not swollen by a leak
        typical = np.nanmedian(areas[near])
        calm = [j for j in near if areas[j] <= 1.3 * typical] or near
        mean = np.median([moments[j][0] for j in calm], axis=0)  # type: ignore[index]
        cov = np.median([moments[j][1] for j in calm], axis=0)  # type: ignore[index]
        found[k] = True
        centre[k] = mean + (r0, c0)
        d = np.stack([rr - mean[0], cc - mean[1]], axis=-1)
        inv = np.linalg.inv(cov + np.eye(2) * 0.25)
        m2 = np.einsum("...i,ij,...j->...", d, inv, d)
        # a uniform ellipse ends at d^2 = 4; allow 1.5 pixels for the scanner's blur of its edge
        minor = 2.0 * float(np.sqrt(max(np.linalg.eigvalsh(cov)[0], 1e-6)))
        outline = m2 <= 4.0 * (1.0 + 1.5 / minor) ** 2
        plane, nplane = ndimage.label(mask[k])
        if nplane == 0:
            continue
        inner = np.bincount(plane[(m2 <= 4.0) & (plane > 0)], minlength=nplane + 1)
        if inner[1:].max() == 0:
            continue
        sac_plane = plane == int(np.argmax(inner[1:])) + 1  # the in-plane component filling the ellipse
        core = sac_plane & outline
        sac_mask[k, r0:r1, c0:c1] = ndimage.binary_fill_holes(core)
        sac_hu[k] = float(np.median(hu_box[k][core])) if core.any() else np.nan
        dist_mm = np.hypot((rr - mean[0]) * vol.pixel_mm[0], (cc - mean[1]) * vol.pixel_mm[1])
        # leaked contrast is the sac's contrast diluted: never denser than the sac (25 % for noise and layering)
        ceiling = 1.25 * sac_hu[k]
        dilute = (hu_box[k] <= ceiling) & ~ndimage.binary_dilation(hu_box[k] > ceiling)
        extra = ndimage.binary_opening(mask[k] & dilute, _OPEN) & ~outline & (dist_mm <= REACH_MM)
        if not extra.any():
            continue
        sac_region = ndimage.binary_dilation(outline | sac_plane, _OPEN)
        split = split_bone(hu_box[k], vol.pixel_mm, extra, core, sac_region)
        slices[k].against_bone_mm2 = split.against_mm2
        extra = split.contrast
        if not extra.any():
            continue
        leak = _classify(hu_box[k], vol.pixel_mm, extra, core, sac_plane, mean, px_area, slices[k])
        leak_mask[k, r0:r1, c0:c1] = leak
    return SacReading(found, centre, sac_hu, slices, sac_mask, leak_mask)


def _classify(
    hu: np.ndarray,
    pixel_mm: tuple[float, float],
    extra: np.ndarray,
    core: np.ndarray,
    sac_k: np.ndarray,
    mean: np.ndarray,
    px_area: float,
    out: SliceContrast,
) -> np.ndarray:
    """Classify the extra-sac regions of one slice into ``out``; returns the mask of those read as epidural."""
    leak = np.zeros(extra.shape, dtype=bool)
    comp, ncomp = ndimage.label(extra)
    near_core = ndimage.distance_transform_edt(~core, sampling=pixel_mm)  # mm from the sac's contrast
    for lab in range(1, ncomp + 1):
        region = comp == lab
        area = float(region.sum()) * px_area
        if area < MIN_AREA_MM2:
            continue
        out.extra_hu.append(float(np.median(hu[region])))
        rows, cols = np.nonzero(region)
        # needle track: midline, reaching more than 20 mm behind the sac centre (beyond the canal)
        behind_mm = (rows.max() - mean[0]) * pixel_mm[0]
        midline = abs(float(np.median(cols)) - mean[1]) * pixel_mm[1] < 10.0
        if behind_mm > 20.0 and midline:
            out.track = True
            out.epidural_mm2 += area
            leak |= region
            continue
        joined = bool((region & sac_k).any())  # the same in-plane component as the sac: no wall between
        if joined:
            out.joined_mm2 += area
            out.epidural_mm2 += area
            leak |= region
            continue
        # a crescent hugging the sac (within 4 mm of it) with epidural fat 1.5-3 mm outside it: subdural
        hugging = float((near_core[region] <= 4.0).mean())
        away = ndimage.distance_transform_edt(~region, sampling=pixel_mm)
        shell = (away > 1.5) & (away <= 3.0) & (near_core > 4.0)
        fat = float((hu[shell] < FAT_HU).mean()) if shell.any() else 0.0
        if hugging >= 0.6 and fat >= 0.5:
            out.subdural_mm2 += area
        else:
            out.epidural_mm2 += area
            leak |= region
    return leak
