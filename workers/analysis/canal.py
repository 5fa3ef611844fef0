"""Spinal canal on axial T2: ventral epidural fluid (CSF-LEAK inputs) and anterior-horn hyperintensity (MSAM).

**Epidural fluid.** In each axial slice, rays run forward (anterior) from the cord centre at lateral offsets
of -8..+8 mm. Normally a ray meets the CSF (bright), then epidural fat and the posterior cortex of the body
(darker): one bright segment. A ventral epidural collection adds a second CSF-bright segment in front of
the thin dark dura: bright, dark, bright. A slice counts when the pattern is seen on rays covering at least
3 mm of width; the collection spans the contiguous run of such slices, named by the vertebral levels.

**Anterior-horn hyperintensity.** Inside the cord mask (eroded by one pixel), pixels brighter than 1.5x the
median cord signal form foci (the outline is the union of the cord masks of the three slices either side, as
a bright focus is cut out of the contour like CSF); foci touching the outline are dropped (CSF partial
volume); a slice counts when foci lie in the anterior half on both sides of the midline ("snake eyes").
The extent is the longest run of at least two such slices, named by level.

Both are candidates for a radiologist to confirm (the criteria engine marks them as needing confirmation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import ndimage

from workers.analysis.base import AnalyserResult, CandidateFinding, QcVerdict, SeriesInput
from workers.analysis.cord import qc as cord_qc
from workers.analysis.cord.morphometry import slice_morphometry
from workers.analysis.cord.segmentation import CordSegmentation
from workers.analysis.cord.window import around, bounding_box
from workers.analysis.segmentations import cord_segmentation, map_series, start_series
from workers.analysis.volume import load_volume

VERSION = "1.0"
BRIGHT = 0.75  # fraction of the CSF signal that counts as fluid
DARK = 0.55  # fraction of the CSF signal that counts as a separating line (dura)
MIN_WIDTH_MM = 3.0
AH_RATIO = 1.5


@dataclass(frozen=True)
class SliceExtent:
    """Slices (z, mm) where a sign was seen, and the levels they fall in."""

    z_mm: tuple[float, ...]
    upper: str | None
    lower: str | None
    series_instance_uid: str
    sop_instance_uids: tuple[str, ...]

    @property
    def named(self) -> bool:
        return self.upper is not None and self.lower is not None


def level_of(z: float, levels: Mapping[str, tuple[float, float]]) -> str | None:
    for name, (top, bottom) in levels.items():
        if bottom <= z <= top:
            return name
    return None


def _rays_with_second_fluid(rays: np.ndarray, step_mm: float) -> np.ndarray:
    """Per ray (rows of ``rays``, samples every ``step_mm``): bright (CSF), dark (dura), bright again for >=
    1.5 mm, the last within 6 mm of the dark line."""
    bright = rays >= BRIGHT
    index = np.arange(rays.shape[1])
    first = np.argmax(bright, axis=1)
    dark = (rays <= DARK) & (index >= first[:, None])
    d = np.argmax(dark, axis=1)
    found = bright.any(axis=1) & dark.any(axis=1)
    window = (index >= d[:, None]) & (index < d[:, None] + int(round(6.0 / step_mm)))
    need = int(round(1.5 / step_mm))
    if need <= 0:  # any sample after the dark line will do
        return np.asarray(found & window.any(axis=1))
    runs = np.cumsum(np.pad(bright & window, ((0, 0), (1, 0))), axis=1)
    return np.asarray(found & (runs[:, need:] - runs[:, :-need] >= need).any(axis=1))


def epidural_fluid_slices(seg: CordSegmentation, *, step_mm: float = 0.2, reach_mm: float = 16.0) -> np.ndarray:
    """Per slice of ``seg.view``: True where a ventral fluid layer in front of the thecal sac is seen."""
    view = seg.view
    _, sy, sx = view.spacing
    # The pixel-y direction that points anterior (LPS: anterior is -y).
    y_dir = view.affine[:3, 1] / np.linalg.norm(view.affine[:3, 1])
    forward = -1.0 if y_dir[1] > 0 else 1.0  # pixel-y direction that points anterior
    out = np.zeros(view.array.shape[0], dtype=bool)
    r = np.arange(0.0, reach_mm, step_mm)
    offsets = np.arange(-8.0, 8.0 + 1e-6, 0.5)
    for k in np.nonzero(seg.found)[0]:
        image = view.array[k].astype(float)
        cy, cx = seg.centres[k]
        # The pixels within 10 mm of the centre, found in a window around it (two pixels wider; the same
        # pixels, in the same order, as on the whole slice).
        yy, xx = np.mgrid[around((cy, cx), 10.0, (sy, sx), image.shape)]
        near = ((yy - cy) * sy) ** 2 + ((xx - cx) * sx) ** 2 <= 10.0**2
        csf = float(np.percentile(image[yy[near], xx[near]], 95))
        if csf <= 0:
            continue
        # Every ray at once (each sample is interpolated alone: the values of one ray at a time, to the bit).
        ys = np.broadcast_to(cy + forward * r / sy, (len(offsets), len(r)))
        xs = np.broadcast_to((cx + offsets / sx)[:, None], (len(offsets), len(r)))
        rays = ndimage.map_coordinates(image, [ys, xs], order=1, mode="nearest") / csf
        hits = int(_rays_with_second_fluid(rays, step_mm).sum())
        out[k] = hits * 0.5 >= MIN_WIDTH_MM
    return out


def anterior_horn_slices(seg: CordSegmentation) -> np.ndarray:
    """Per slice: True where bright foci lie in the anterior cord on both sides of the midline."""
    view = seg.view
    y_dir = view.affine[:3, 1] / np.linalg.norm(view.affine[:3, 1])
    forward = -1.0 if y_dir[1] > 0 else 1.0
    out = np.zeros(view.array.shape[0], dtype=bool)
    nz = view.array.shape[0]
    for k in np.nonzero(seg.found)[0]:
        # Bright foci are cut out of the contour like CSF; the neighbouring slices' cord restores the outline.
        outline = np.asarray(seg.mask[max(0, k - 3) : min(nz, k + 4)].any(axis=0))
        if not outline.any():
            continue
        # Everything below lies inside the outline: computed in its bounding box with a margin of two pixels
        # (erosion, propagation and labels see the same neighbours as on the whole slice).
        box = bounding_box(outline, 2)
        y0, x0 = box[0].start, box[1].start
        mask = ndimage.binary_erosion(outline[box])
        if mask.sum() < 10:
            continue
        image = view.array[k][box].astype(float)
        median = float(np.median(image[mask]))
        # Foci touching the outline are CSF partial volume, not grey matter.
        rim = mask & ~ndimage.binary_erosion(mask)
        foci = mask & (image > AH_RATIO * median)
        foci &= ~ndimage.binary_propagation(foci & rim, mask=foci)
        labels, count = ndimage.label(foci)
        cy, cx = seg.centres[k]
        sides = set()
        for lab in range(1, count + 1):
            ys, xs = np.nonzero(labels == lab)
            ys, xs = ys + y0, xs + x0
            if ys.size < 2:
                continue
            if forward * (ys.mean() - cy) > 0:  # anterior half
                sides.add(int(np.sign(xs.mean() - cx)))
        out[k] = {-1, 1} <= sides
    return out


def _extent(seg: CordSegmentation, flags: np.ndarray, volume: Any, min_slices: int) -> SliceExtent | None:
    """The longest run of flagged slices (at least ``min_slices``), its levels not named (:func:`_named`)."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    runs = list(zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0], strict=True))
    if not runs:
        return None
    a, b = max(runs, key=lambda ab: ab[1] - ab[0])
    if b - a < min_slices:
        return None
    ks = np.arange(a, b)
    z = seg.view.to_patient(np.column_stack([ks, np.zeros(len(ks)), np.zeros(len(ks))]))[:, 2]
    sops = tuple(volume.sop_instance_uids[int(k)] for k in ks) if seg.view.axes[0] == 0 else ()
    return SliceExtent(tuple(float(v) for v in sorted(z, reverse=True)), None, None, volume.series_instance_uid, sops)


def _named(extent: SliceExtent | None, levels: Mapping[str, tuple[float, float]]) -> SliceExtent | None:
    """``extent`` with the levels its top and bottom slice fall in."""
    if extent is None:
        return None
    return replace(extent, upper=level_of(extent.z_mm[0], levels), lower=level_of(extent.z_mm[-1], levels))


@dataclass(frozen=True)
class _SeriesOutcome:
    verdict: QcVerdict
    cord_mask: tuple[str, np.ndarray, tuple[str, ...]]  # series, mask on the source grid, its SOPs
    fluid: SliceExtent | None
    horn: SliceExtent | None


def _analyse_series(args: tuple[str, SeriesInput]) -> _SeriesOutcome:
    """One axial T2: its cord verdict and mask, and its fluid and horn extents (levels not yet named) when the
    verdict is ok."""
    name, s = args
    volume = load_volume(s.datasets)
    return _outcome(name, s.series_uid, volume, cord_segmentation(volume))


def _outcome(name: str, series_uid: str, volume: Any, seg: CordSegmentation) -> _SeriesOutcome:
    """The verdict on ``seg`` of ``volume``, and the fluid and horn extents when it is ok. Fluid is looked for
    only on the slices the cord QC kept: on a slice left out the centre is no cord's, and its rays find
    "fluid" anywhere."""
    verdict, kept, _ = cord_qc.review(name, series_uid, seg, slice_morphometry(seg))
    mask = (series_uid, seg.view.to_source(seg.mask), volume.sop_instance_uids)
    fluid = horn = None
    if verdict.ok:  # rays from a wrong centre find "fluid" anywhere
        fluid = _extent(kept, epidural_fluid_slices(kept), volume, min_slices=2)
        horn = _extent(seg, anterior_horn_slices(seg), volume, min_slices=2)
    return _SeriesOutcome(verdict, mask, fluid, horn)


def _images(args: tuple[str, SeriesInput]) -> list[str]:
    """The SOP Instance UIDs an axial series' volume is built from (what :func:`_analyse_series` segments)."""
    return [str(ds.SOPInstanceUID) for ds in args[1].datasets]


class CanalAnalyser:
    """Ventral epidural fluid and anterior-horn hyperintensity on axial T2 series."""

    name = "canal_fluid"
    version = VERSION

    def select(self, series: Sequence[SeriesInput]) -> tuple[SeriesInput, ...] | None:
        axial = tuple(s for s in series if s.sequence == "T2" and s.plane == "axial" and len(s.datasets) >= 3)
        return axial or None

    def start(self, inputs: tuple[SeriesInput, ...]) -> None:
        """Begin the series on the pool before the levels are known: they name the extents only, in :meth:`run`."""
        start_series(self._tag(inputs), _analyse_series, [(self.name, s) for s in inputs], images=_images)

    def _tag(self, inputs: tuple[SeriesInput, ...]) -> tuple[str, tuple[str, ...]]:
        return (self.name, tuple(s.series_uid for s in inputs))

    def run(self, inputs: tuple[SeriesInput, ...], context: Mapping[str, Any]) -> AnalyserResult:
        result = AnalyserResult(self.name, self.version)
        levels: Mapping[str, tuple[float, float]] = context.get("levels") or {}
        fluid: list[SliceExtent] = []
        horns: list[SliceExtent] = []
        cord_masks: list[tuple[str, np.ndarray, tuple[str, ...]]] = []
        result.details["cord_masks"] = cord_masks
        # Independent series, on every core; the first that failed fails the analyser, as one by one.
        for outcome in map_series(_analyse_series, [(self.name, s) for s in inputs], tag=self._tag(inputs)):
            if isinstance(outcome, Exception):
                raise outcome
            result.qc.append(outcome.verdict)
            cord_masks.append(outcome.cord_mask)
            if (extent := _named(outcome.fluid, levels)) is not None:
                fluid.append(extent)
            if (extent := _named(outcome.horn, levels)) is not None:
                horns.append(extent)
        result.details["epidural_fluid"] = fluid
        result.details["anterior_horn"] = horns
        for ext in fluid:
            self._fluid_finding(result, ext)
        for ext in horns:
            where = f"{ext.upper}-{ext.lower}" if ext.named and ext.upper != ext.lower else ext.upper
            result.notes.append(
                "bilateral anterior-horn T2 hyperintensity"
                + (f" at {where}" if where else f" at z {ext.z_mm[0]:.0f} to {ext.z_mm[-1]:.0f} mm (level unknown)")
            )
        named = [ext for ext in horns if ext.named]
        if named:
            top = max(named, key=lambda e: e.z_mm[0])
            bottom = min(named, key=lambda e: e.z_mm[-1])
            result.details["context_hints"] = {"anterior_horn_hyperintensity": (top.upper, bottom.lower)}
        return result

    @staticmethod
    def _fluid_finding(result: AnalyserResult, ext: SliceExtent) -> None:
        span = f"{ext.upper} to {ext.lower}" if ext.named else f"z {ext.z_mm[0]:.0f} to {ext.z_mm[-1]:.0f} mm"
        text = f"ventral epidural fluid collection ({span}), CSF-like T2 signal in front of the dura"
        finding: dict[str, Any] | None = None
        if ext.named:
            finding = {
                "exam": "spinal_mri",
                "kind": "epidural_fluid",
                "levels": [ext.upper, ext.lower],
                "enhancement": "not_assessed",
                "continuous_with_subarachnoid": None,
                "source": "automated",
            }
        result.findings.append(
            CandidateFinding(
                description=text,
                confidence=0.6,
                finding=finding,
                rules=("CSF-LEAK-MR-1",),
                level=ext.upper,
                series_instance_uid=ext.series_instance_uid,
                sop_instance_uids=ext.sop_instance_uids,
            )
        )
