"""The QC verdict on a cord segmentation: ok, unreliable or failed, with a reason a person can read.

Every check looks at the segmentation itself, never at a reference: is there a cord at all, is the contour
a uniform structure clearly darker (CSF-bright polarity) than the fluid right around it, does it lie on the
mid-sagittal plane, is the centre line continuous, is the area human, is the shape a cord's, are there enough
slices to compare (:data:`MIN_MEASURED_SLICES`), is the cord-to-fluid contrast well above the image's own noise
(:data:`MIN_CNR`), are the pixels fine enough for the cord's size (:data:`MIN_PIXELS_ACROSS`). The first failing
check gives the reason; several failing checks are all named. Two artefacts are looked for too: a motion ghost
over the cord (:mod:`workers.analysis.cord.ghost`) and coil shading across it (:mod:`workers.analysis.cord.shading`).

Three checks are made slice by slice: the outline's median intensity against that of the outlines of the
neighbouring slices (a cord keeps about the same intensity from slice to slice; an outline that has slipped
onto a darker structure beside the canal, a ligament, bone or a vessel, is far darker than the series' own
cord), the slice's area against the physiological range, and partial volume: how far the cord's course carries
it sideways within the slice's thickness, against the cord's radius (a thick slice across an oblique cord
averages cord and fluid side by side, and its outline's area is not the cord's;
:mod:`workers.analysis.cord.slice_checks`). Failing slices are left out: the other checks and every measurement
use the remaining slices, and the verdict names the slices left out. When more than :data:`MAX_EXCLUDED` of the
found slices fail, the series is unreliable, with the slices named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from workers.analysis.base import QcStatus, QcVerdict
from workers.analysis.cord.canal_score import CANAL_RADIUS_MM
from workers.analysis.cord.centreline import mirror_axis, normalised
from workers.analysis.cord.ghost import MAX_GHOST_CORRELATION, MAX_GHOST_SHARE, ghost_over_cord, ghosting, slice_details
from workers.analysis.cord.morphometry import SliceMorphometry
from workers.analysis.cord.segmentation import CordSegmentation, csa_range_mm2
from workers.analysis.cord.shading import MAX_SHADING, side_to_side_shading
from workers.analysis.cord.slice_checks import darker_slices, smeared_slices
from workers.analysis.cord.window import bounding_box
from workers.analysis.segmentations import known_figures, remember_figures

MIN_FOUND_FRACTION = 0.5  # below: no cord in the field
MIN_CONTRAST = 0.10  # fluid ring minus cord, fraction of the intensity range
MAX_BRIGHT_INSIDE = 0.25  # fraction of the contour brighter than half-way to the fluid
MAX_MIDLINE_MM = 2.5  # the cord centre lies within its own half-width of the body's plane of symmetry
AP_RL_RANGE = (0.35, 1.25)  # a cord is an ellipse flattened front to back (round at the conus)
MAX_AREA_JUMP = 0.20  # median relative change of area between neighbouring slices
MAX_AREA_STEP = 2.0  # the cord's area never halves or doubles between neighbouring slices above the conus
MAX_COURSE_SLOPE = 1.0  # mm of in-plane displacement per mm of z the cord's course can take (45 degrees)
MAX_EXCLUDED = 0.2  # fraction of the found slices that may be left out of a series that stays ok
#: Below this many measured slices the slice-to-slice checks (an outline's level against its neighbours',
#: the area step, the centre line's jumps) cannot out-vote wrong slices: each slice is judged against a median
#: of the series, and a median out-votes two wrong slices (one thick slab made of two, or two neighbouring
#: slices on the same wrong structure) only from five slices on. A check not made is not passed.
MIN_MEASURED_SLICES = 5
#: The tracked path is a peak of the canal score per slice, which wanders across the cord's own plateau (as
#: wide as the cord side to side) from slice to slice; a median over this much z removes that wandering and
#: short detours but keeps a step to another structure. In mm, not slices: the same cord in slices half as
#: thick wanders over twice as many slices.
PATH_MEDIAN_MM = 5.0
#: The outline is placed on the rise from cord to fluid pixel by pixel: where that rise is less than five times
#: the image noise (Rose's criterion for telling a structure from noise), noise moves the outline by pixels and
#: its area is not the cord's. The series' median over its slices, so that one noisy slice does not decide.
MIN_CNR = 5.0
#: The outline is placed on the rise from cord to fluid, which a pixel spreads over its own width on either side:
#: on a cord a few pixels across, the thin CSF around it is averaged with cord and bone, the rise no longer reaches
#: the fluid's level, and the outline falls inside the cord. On the real T2, T2* and T2 (MS) volumes resampled to
#: coarser pixels, the CSA was within 2 % at 8 or more pixels across the cord's AP and RL diameters and 12-71 %
#: low at 3-5 (``benchmarks/qc_perturbations.py``, README): below this many the area is not the cord's.
MIN_PIXELS_ACROSS = 6.0
#: A sagittal series must span the canal (cord and CSF) from side to side for the cord to be outlined across it.
MIN_ACROSS_MM = 2 * CANAL_RADIUS_MM


@dataclass(frozen=True)
class CordQcFigures:
    """What the verdict was decided on (kept in the analyser's details for the benchmark and the record)."""

    n_slices: int
    found_fraction: float
    contrast: float
    bright_inside: float
    midline_offset_mm: float
    max_step_mm: float
    csa_out_of_range: float
    ap_rl: float
    area_jump: float
    darker_slices: tuple[int, ...] = ()  # slices (view index) whose outline is far darker than the cord
    out_of_range_slices: tuple[int, ...] = ()  # slices (view index) whose area is outside the human range
    smeared_slices: tuple[int, ...] = ()  # slices (view index) across which the cord moves more than its radius
    n_found: int = 0
    area_step: float = 1.0  # largest ratio of the areas of two consecutive kept slices
    sagittal_slices: int = 0  # slices of a sagittal acquisition (the view's R-L axis); 0 for other planes
    across_mm: float = float("inf")  # R-L extent of a sagittal acquisition
    cnr: float = float("inf")  # median over slices of (fluid ring - outline) / noise SD inside the outline
    pixels_ap: float = float("inf")  # the cord's median AP diameter over the pixel size along AP
    pixels_rl: float = float("inf")  # the cord's median RL diameter over the pixel size along RL
    ghost: float = 0.0  # the detail's largest circular autocorrelation beyond GHOST_MIN_SHIFT_MM (median over slices)
    ghost_shift_mm: float = 0.0  # its shift
    ghost_axis: str = ""  # "front to back" or "side to side"
    ghost_share: float = 0.0  # the ghost's detail over the cord against the cord's own (median over slices)
    shading: float = 0.0  # the cord's level side to side across it, over the cord-to-fluid contrast (median)

    @property
    def excluded(self) -> tuple[int, ...]:
        """Slices left out of the measurements (view indices, ascending)."""
        return tuple(sorted(set(self.darker_slices) | set(self.out_of_range_slices) | set(self.smeared_slices)))


def path_window(sz: float) -> int:
    """The slices (odd) of the median along z that the centre line's jumps are measured after: at least
    :data:`MIN_MEASURED_SLICES` (a median out-votes two wrong slices of five) and at least
    :data:`PATH_MEDIAN_MM` of z, so that thinner slices over the same cord give the same line."""
    return max(MIN_MEASURED_SLICES, 2 * int(round(0.5 * PATH_MEDIAN_MM / sz)) + 1)


def noise_sd(plane: np.ndarray, inside: np.ndarray) -> float:
    """The noise SD of ``plane`` inside the outline ``inside``, from the differences between neighbouring pixels
    of the outline eroded by one pixel (the cord's own grey/white texture changes slowly from pixel to pixel;
    noise does not): a robust SD (1.4826 x median absolute deviation) of the differences, over sqrt(2).
    NaN when the outline holds too few pixel pairs. Interpolated images (noise correlated between pixels) give
    a lower SD, which makes the check lenient, never stricter."""
    core = ndimage.binary_erosion(inside)
    pairs = [
        (plane[:, 1:] - plane[:, :-1])[core[:, 1:] & core[:, :-1]],
        (plane[1:, :] - plane[:-1, :])[core[1:, :] & core[:-1, :]],
    ]
    diffs = np.concatenate(pairs)
    if diffs.size < 8:
        return float("nan")
    return float(1.4826 * np.median(np.abs(diffs - np.median(diffs))) / np.sqrt(2.0))


def figures(seg: CordSegmentation, slices: Sequence[SliceMorphometry]) -> CordQcFigures:
    """The QC figures of ``seg`` and its per-slice morphometry. The slice checks (darker outline, area out of
    range, partial volume) are made on every found slice; the series checks on the slices that pass them.

    Within an analysis run (:mod:`workers.analysis.segmentations`) they are made once per segmentation the run
    hands out: every later caller, and a job whose segmentation was filed with its figures while the study
    arrived, gets the same figures (a pure function of the segmentation and its slices)."""
    known = known_figures(seg, slices)
    if known is not None:
        return known
    made = _figures(seg, slices)
    remember_figures(seg, slices, made)
    return made


def _figures(seg: CordSegmentation, slices: Sequence[SliceMorphometry]) -> CordQcFigures:
    view = seg.view
    sz, sy, sx = view.spacing
    nz = view.array.shape[0]
    # The view's R-L axis is the source's slice axis: a sagittal acquisition, its slices side by side.
    sagittal = view.axes[2] == 0
    n_across = view.array.shape[2] if sagittal else 0
    across = n_across * sx if sagittal else float("inf")
    if not seg.found.any():
        return CordQcFigures(
            nz, 0.0, 0.0, 1.0, float("inf"), 0.0, 1.0, float("nan"), 0.0, sagittal_slices=n_across, across_mm=across
        )
    image = normalised(view.array, seg.polarity, seg.intensity_range)  # the segmentation's scale, not again
    low, high = csa_range_mm2()
    out_of_range = tuple(s.slice_index for s in slices if not (low <= s.csa_mm2 <= high))
    darker = darker_slices(seg, image)
    smeared = smeared_slices(seg, slices)
    left_out = set(out_of_range) | set(darker) | set(smeared)
    kept_slices = [s for s in slices if s.slice_index not in left_out] or list(slices)
    found = np.array([k for k in np.nonzero(seg.found)[0] if k not in left_out] or np.nonzero(seg.found)[0])
    contrasts, bright, cnrs, shades = [], [], [], []
    ring_px = max(1, int(round(2.0 / min(sy, sx))))
    for k in found:
        if not seg.mask[k].any():
            continue
        # The ring around the outline, in the outline's bounding box widened by the ring and a pixel (the
        # same pixels, in the same order, as on the whole slice).
        box = bounding_box(seg.mask[k], ring_px + 1)
        inside, plane = seg.mask[k][box], image[k][box]
        ring = ndimage.binary_dilation(inside, iterations=ring_px) & ~inside
        core_level = float(np.median(plane[inside]))
        fluid_level = float(np.percentile(plane[ring], 75)) if ring.any() else core_level
        contrasts.append(fluid_level - core_level)
        sd = noise_sd(plane, inside)
        if np.isfinite(sd):
            cnrs.append((fluid_level - core_level) / max(sd, 1e-6))
        bright.append(float(np.mean(plane[inside] > 0.5 * (core_level + fluid_level))))
        shade = side_to_side_shading(plane, inside, fluid_level - core_level)
        if np.isfinite(shade):
            shades.append(shade)
    # The tracker's mirror axis is that of this same normalised image: computed once per series.
    midline = seg.midline_x if seg.midline_x.shape == (nz,) else mirror_axis(image)
    offset = float(np.median(np.abs(seg.centres[found, 1] - midline[found]))) * sx
    # Jumps of the tracked path, after a median along z that removes short detours but keeps a step.
    path = ndimage.median_filter(seg.raw_path[found], size=(min(path_window(sz), found.size), 1), mode="nearest")
    steps = np.hypot(*(np.diff(path, axis=0) * [sy, sx]).T) if found.size > 1 else np.zeros(0)
    gaps = np.diff(found) if found.size > 1 else np.zeros(0)
    # Across slices left out the cord may have moved, by at most about 1 mm per mm of z (a 45 degree course):
    # a larger step is a jump to another structure, hidden by the slices between.
    steps = np.maximum(steps - (gaps - 1) * sz * MAX_COURSE_SLOPE, 0.0) if steps.size else steps
    csa = np.array([s.csa_mm2 for s in kept_slices]) if kept_slices else np.zeros(0)
    # The view's y axis runs front to back and its x axis side to side (an axial view of any acquisition).
    pixels_ap = float(np.median([s.ap_mm for s in kept_slices])) / sy if kept_slices else float("inf")
    pixels_rl = float(np.median([s.rl_mm for s in kept_slices])) / sx if kept_slices else float("inf")
    ratios = [s.ap_mm / s.rl_mm for s in kept_slices if s.rl_mm > 0]
    ratio = float(np.median(ratios)) if ratios else float("nan")
    jump = float(np.median(np.abs(np.diff(csa)) / csa[1:])) if csa.size > 1 else 0.0
    # Consecutive kept slices, across the slices left out: those are no evidence of the cord's area.
    ratios_z = np.maximum(csa[1:] / csa[:-1], csa[:-1] / csa[1:]) if csa.size > 1 else np.ones(1)
    details = slice_details(image, view.spacing, found)
    ghost, ghost_shift, ghost_axis = ghosting(image, view.spacing, found, details)
    ghost_share = ghost_over_cord(image, view.spacing, seg.mask, found, ghost, ghost_shift, ghost_axis, details)
    return CordQcFigures(
        n_slices=nz,
        found_fraction=float(seg.found.sum() / nz),
        contrast=float(np.median(contrasts)) if contrasts else 0.0,
        bright_inside=float(np.median(bright)) if bright else 1.0,
        midline_offset_mm=offset,
        max_step_mm=float(steps.max()) if steps.size else 0.0,
        csa_out_of_range=len(out_of_range) / len(slices) if slices else 1.0,
        ap_rl=ratio,
        area_jump=jump,
        darker_slices=darker,
        out_of_range_slices=out_of_range,
        smeared_slices=smeared,
        n_found=int(seg.found.sum()),
        area_step=float(ratios_z.max()),
        sagittal_slices=n_across,
        across_mm=across,
        cnr=float(np.median(cnrs)) if cnrs else float("inf"),
        pixels_ap=pixels_ap,
        pixels_rl=pixels_rl,
        ghost=ghost,
        ghost_shift_mm=ghost_shift,
        ghost_axis=ghost_axis,
        ghost_share=ghost_share,
        shading=float(np.median(shades)) if shades else 0.0,
    )


def trimmed(
    seg: CordSegmentation, slices: Sequence[SliceMorphometry], fig: CordQcFigures
) -> tuple[CordSegmentation, list[SliceMorphometry]]:
    """``seg`` and ``slices`` without the slices the QC left out (no mask, no centre, no measurement there)."""
    if not fig.excluded:
        return seg, list(slices)
    out = np.array(fig.excluded)
    found, mask, centres = seg.found.copy(), seg.mask.copy(), seg.centres.copy()
    found[out] = False
    mask[out] = False
    centres[out] = np.nan
    kept = [s for s in slices if s.slice_index not in set(fig.excluded)]
    return replace(seg, found=found, mask=mask, centres=centres), kept


def verdict(analyser: str, series_uid: str, fig: CordQcFigures, slice_spacing_mm: float) -> QcVerdict:
    """ok / unreliable / failed from the figures, with every failing check named."""

    def make(status: QcStatus, reasons: list[str]) -> QcVerdict:
        return QcVerdict(analyser, series_uid, status, "; ".join(reasons))

    if fig.found_fraction == 0.0 and fig.across_mm < MIN_ACROSS_MM:
        # Not evidence that there is no cord: too narrow a slab to outline it.
        n = fig.sagittal_slices
        return make(
            QcStatus.FAILED,
            [
                f"too few sagittal slices ({n}, {fig.across_mm:.0f} mm from side to side) to outline the cord "
                f"across it (at least {MIN_ACROSS_MM:.0f} mm needed)"
            ],
        )
    if fig.found_fraction == 0.0:
        return make(QcStatus.FAILED, ["no cord found in the field of view"])
    if fig.found_fraction < MIN_FOUND_FRACTION:
        return make(
            QcStatus.FAILED,
            [f"no cord in most of the field (found on {100 * fig.found_fraction:.0f} % of the slices)"],
        )
    reasons = []
    measured = fig.n_found - len(fig.excluded)
    if fig.n_slices == 1:
        reasons.append("a single slice: the cord's angle to the slice and its continuity cannot be checked")
    elif measured < MIN_MEASURED_SLICES:
        reasons.append(
            f"the cord is measured on only {measured} slice{'s' * (measured != 1)}: too few to check its "
            f"continuity and each slice against the others (at least {MIN_MEASURED_SLICES} needed)"
        )
    if fig.contrast < MIN_CONTRAST:
        reasons.append("the outlined structure is not clearly set off from the fluid around it (weak contrast)")
    if fig.contrast >= MIN_CONTRAST and fig.cnr < MIN_CNR:
        reasons.append(
            f"too noisy to outline the cord: the cord-to-fluid contrast is {fig.cnr:.1f} times the image noise "
            f"(at least {MIN_CNR:.0f} needed)"
        )
    coarse = [
        (n, way)
        for n, way in ((fig.pixels_ap, "front to back"), (fig.pixels_rl, "side to side"))
        if n < MIN_PIXELS_ACROSS
    ]
    if coarse:
        across, way = min(coarse)
        reasons.append(
            f"pixels too coarse to outline the cord: {across:.1f} pixels across it {way} (at least "
            f"{MIN_PIXELS_ACROSS:.0f} needed)"
        )
    if fig.ghost > MAX_GHOST_CORRELATION and fig.ghost_share > MAX_GHOST_SHARE:
        # The copy's brightness g from the correlation c = 2g / (1 + g**2).
        g = (1.0 - np.sqrt(max(1.0 - fig.ghost**2, 0.0))) / fig.ghost
        reasons.append(
            f"a faint copy of the image (a motion ghost, about {100 * g:.0f} % of its brightness, shifted "
            f"{fig.ghost_shift_mm:.0f} mm {fig.ghost_axis}) lies over the cord: its outline cannot be trusted"
        )
    if fig.shading > MAX_SHADING:
        reasons.append(
            f"the outlined cord grows steadily brighter from one side to the other, by {100 * fig.shading:.0f} % "
            "of its contrast with the fluid (uneven coil sensitivity shading the image, or an outline not on the "
            "cord): the outline cannot be trusted"
        )
    if fig.bright_inside > MAX_BRIGHT_INSIDE:
        reasons.append(
            f"the outline is not a uniform cord ({100 * fig.bright_inside:.0f} % of it as bright as the fluid)"
        )
    if fig.midline_offset_mm > MAX_MIDLINE_MM:
        reasons.append(f"mask off the canal centre ({fig.midline_offset_mm:.0f} mm from the body's midline)")
    many_left_out = len(fig.excluded) > MAX_EXCLUDED * max(fig.n_found, 1)
    if fig.darker_slices and many_left_out:
        n = len(fig.darker_slices)
        reasons.append(
            f"the outline is on a structure darker than the cord on {n} of {fig.n_slices} slices "
            f"(slice{'s' if n > 1 else ''} {slice_list(fig.darker_slices)})"
        )
    if fig.smeared_slices and many_left_out:
        n = len(fig.smeared_slices)
        reasons.append(
            f"the cord moves by more than its radius within one slice on {n} of {fig.n_slices} slices "
            f"(slice{'s' if n > 1 else ''} {slice_list(fig.smeared_slices)}): partial volume, its area is not "
            "the cord's"
        )
    if fig.max_step_mm > max(3.0, slice_spacing_mm):
        reasons.append(f"broken centre line (jumps {fig.max_step_mm:.0f} mm between neighbouring slices)")
    if fig.out_of_range_slices and many_left_out:
        low, high = csa_range_mm2()
        reasons.append(
            f"cord area outside the physiological range {low:.0f}-{high:.0f} mm2 on "
            f"{100 * fig.csa_out_of_range:.0f} % of the slices"
        )
    if not (AP_RL_RANGE[0] <= fig.ap_rl <= AP_RL_RANGE[1]):
        reasons.append(f"implausible shape (AP/RL ratio {fig.ap_rl:.2f})")
    if fig.area_jump > MAX_AREA_JUMP:
        reasons.append(f"implausible shape (area changes by {100 * fig.area_jump:.0f} % between slices)")
    if fig.area_step > MAX_AREA_STEP:
        reasons.append(
            f"implausible shape (the area changes by a factor of {fig.area_step:.1f} between neighbouring slices)"
        )
    if reasons:
        return make(QcStatus.UNRELIABLE, reasons)
    return make(QcStatus.OK, [left_out(fig)] if fig.excluded else [])


def left_out(fig: CordQcFigures) -> str:
    """The slices left out of the measurements of a series that stays ok, and why, as a person reads it."""
    why = []
    if fig.out_of_range_slices:
        why.append(
            f"cord area outside the physiological range on slice{'s' * (len(fig.out_of_range_slices) > 1)} "
            f"{slice_list(fig.out_of_range_slices)}"
        )
    if fig.darker_slices:
        why.append(
            f"outline on a structure darker than the cord on slice{'s' * (len(fig.darker_slices) > 1)} "
            f"{slice_list(fig.darker_slices)}"
        )
    if fig.smeared_slices:
        why.append(
            f"cord moving by more than its radius within slice{'s' * (len(fig.smeared_slices) > 1)} "
            f"{slice_list(fig.smeared_slices)}"
        )
    n = len(fig.excluded)
    return f"measured on {fig.n_found - n} of {fig.n_found} slices with a cord, {n} left out ({'; '.join(why)})"


def slice_list(indices: Sequence[int], most: int = 4) -> str:
    """View slice indices as a person reads them (1-based, runs joined): '6-7, 12' or '6-7, 12 and 3 more'."""
    runs: list[list[int]] = []
    for k in sorted(indices):
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    words = [f"{r[0] + 1}-{r[-1] + 1}" if len(r) > 1 else f"{r[0] + 1}" for r in runs]
    return ", ".join(words[:most]) + (f" and {len(words) - most} more" if len(words) > most else "")


def assess(analyser: str, series_uid: str, seg: CordSegmentation, slices: Sequence[SliceMorphometry]) -> QcVerdict:
    """The verdict on ``seg`` for ``analyser`` on series ``series_uid``."""
    return review(analyser, series_uid, seg, slices)[0]


def review(
    analyser: str, series_uid: str, seg: CordSegmentation, slices: Sequence[SliceMorphometry]
) -> tuple[QcVerdict, CordSegmentation, list[SliceMorphometry]]:
    """The verdict on ``seg``, and ``seg`` and ``slices`` without the slices it leaves out."""
    fig = figures(seg, slices)
    kept, kept_slices = trimmed(seg, slices, fig)
    return verdict(analyser, series_uid, fig, seg.view.spacing[0]), kept, kept_slices


def failed(analyser: str, series_uid: str, reason: str) -> QcVerdict:
    """A failed verdict (e.g. geometry that cannot be trusted), reason given as the person should read it."""
    return QcVerdict(analyser, series_uid, QcStatus.FAILED, reason)
