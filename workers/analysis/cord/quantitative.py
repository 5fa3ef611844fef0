"""DTI (FA, MD; CORD-DTI-1) and MTR (CORD-MT-1) inside the cord.

DTI uses dipy's weighted least-squares tensor fit on a diffusion series with at least 6 directions; the
cord mask comes from :func:`segment_cord` on the mean b = 0 image (T2-weighted: CSF brighter than cord).
FA outside the range of healthy and diseased cord (0.5-0.85 in the mask) makes the output unreliable.
MTR = 100 x (M0 - Msat) / M0 from an MT-off / MT-on pair on one grid: the cord is segmented on the MT-off
image (the better cord/CSF contrast), MT-on is registered onto MT-off (rigid, in-plane, per slice), and the
MTR is averaged in the cord mask eroded in-plane by :data:`ERODE_MM` (the outermost pixels hold CSF by partial
volume, whose MTR is far lower than cord's). Both carry the cord segmentation's QC verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from scipy import ndimage

from workers.analysis.base import (
    FA_CODE,
    MD_CODE,
    MTR_CODE,
    SPINAL_CORD,
    AnalyserResult,
    Measurement,
    QcStatus,
    QcVerdict,
    SeriesInput,
)
from workers.analysis.cord import qc
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.centreline import Polarity
from workers.analysis.cord.morphometry import slice_morphometry
from workers.analysis.cord.registration import apply, register_in_plane
from workers.analysis.cord.segmentation import segment_cord
from workers.analysis.philips_scale import carries_scale, floating_point
from workers.analysis.volume import GeometryError, Volume, load_volume
from workers.inventory.diffusion import b_value_of, gradient_of

VERSION = "2.2"
FA_RANGE = (0.5, 0.85)  # mean FA in a cord mask: lower is CSF or noise in the mask, higher is noise
MTR_RANGE = (15.0, 65.0)  # percent; cord MTR is ~30-50 % depending on the MT pulse
ERODE_MM = 1.0  # in-plane erosion of the automatic cord mask before averaging MTR (at least one pixel)


def eroded(view: AxialView, mask: np.ndarray) -> np.ndarray:
    """``mask`` (on the view grid) eroded slice by slice by :data:`ERODE_MM` (at least one pixel); a slice that
    the erosion would empty keeps its mask."""
    _, sy, sx = view.spacing
    iterations = max(1, int(round(ERODE_MM / min(sy, sx))))
    out = np.zeros_like(mask)
    for k, plane in enumerate(mask):
        inner = ndimage.binary_erosion(plane, iterations=iterations)
        out[k] = inner if inner.any() else plane
    return out


def _with_value_check(base: QcVerdict, name: str, value: float, limits: tuple[float, float], what: str) -> QcVerdict:
    """``base`` downgraded to unreliable when ``value`` lies outside ``limits``."""
    if limits[0] <= value <= limits[1]:
        return base
    reason = f"{what} {value:.2f} outside the range expected in the cord ({limits[0]:g}-{limits[1]:g})"
    if base.status is QcStatus.FAILED:
        return base
    joined = reason if base.ok else f"{base.reason}; {reason}"
    return QcVerdict(name, base.series_uid, QcStatus.UNRELIABLE, joined)


@dataclass(frozen=True)
class DiffusionData:
    """Diffusion volumes on one grid: data (k, r, c, n), b-values (n), unit gradients (n x 3, patient)."""

    grid: Volume
    data: np.ndarray
    bvals: np.ndarray
    bvecs: np.ndarray


def load_diffusion(datasets: Sequence[Dataset]) -> DiffusionData:
    """Group a DTI series by (b-value, direction) and stack the volumes."""
    groups: dict[tuple[float, tuple[float, ...] | None], list[Dataset]] = {}
    for ds in datasets:
        b = b_value_of(ds)
        if b is None:
            raise ValueError("an image of the diffusion series has no b-value")
        g = gradient_of(ds)
        key = (round(b, 1), None if g is None or b < 1 else tuple(np.round(g, 5)))
        groups.setdefault(key, []).append(ds)
    vols = [(key, load_volume(repeat)) for key, members in groups.items() for repeat in _repeats(members)]
    grid = vols[0][1]
    for key, vol in vols:
        if vol.array.shape != grid.array.shape:
            raise ValueError(
                f"the b = {key[0]:g} images{' of one direction' if key[1] else ''} hold {vol.array.shape[0]} "
                f"slices of {vol.array.shape[1]} x {vol.array.shape[2]} pixels, the first volume "
                f"{grid.array.shape[0]} of {grid.array.shape[1]} x {grid.array.shape[2]}"
            )
    data = np.stack([v.array for _, v in vols], axis=-1)
    bvals = np.array([key[0] for key, _ in vols])
    bvecs = np.array([key[1] if key[1] is not None else (0.0, 0.0, 0.0) for key, _ in vols])
    return DiffusionData(grid, data, bvals, bvecs)


def _repeats(members: list[Dataset]) -> list[list[Dataset]]:
    """Repeated acquisitions of one (b-value, direction), e.g. several b = 0 volumes: the i-th instance at
    each slice position (in instance order) forms repeat i."""
    by_position: dict[tuple[float, ...], list[Dataset]] = {}
    for ds in sorted(members, key=lambda d: int(d.get("InstanceNumber") or 0)):
        position = tuple(round(float(v), 2) for v in ds.get("ImagePositionPatient") or (0.0, 0.0, 0.0))
        by_position.setdefault(position, []).append(ds)
    n = max(len(v) for v in by_position.values())
    return [[v[i] for v in by_position.values() if i < len(v)] for i in range(n)]


def fit_dti(diff: DiffusionData, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FA and MD (mm^2/s) maps from dipy's tensor model; zero outside ``mask``."""
    from dipy.core.gradients import gradient_table
    from dipy.reconst.dti import TensorModel

    n_dirs = len({tuple(v) for b, v in zip(diff.bvals, diff.bvecs, strict=True) if b > 0})
    if n_dirs < 6:
        raise ValueError(f"a tensor needs at least 6 gradient directions, the series has {n_dirs}")
    gtab = gradient_table(diff.bvals, bvecs=diff.bvecs, b0_threshold=50)
    fit = TensorModel(gtab).fit(diff.data, mask=mask)
    return np.asarray(fit.fa), np.asarray(fit.md)


class DtiAnalyser:
    """FA and MD inside the cord (CORD-DTI-1)."""

    name = "cord_dti"
    version = VERSION

    def select(self, series: Sequence[SeriesInput]) -> SeriesInput | None:
        for s in series:
            if s.sequence in ("DTI", "DWI"):
                dirs = {tuple(np.round(g, 3)) for g in (gradient_of(ds) for ds in s.datasets) if g is not None}
                if len(dirs) >= 6:
                    return s
        return None

    def run(self, inputs: SeriesInput, context: Mapping[str, Any]) -> AnalyserResult:
        result = AnalyserResult(self.name, self.version)
        try:
            diff = load_diffusion(inputs.datasets)
        except (GeometryError, ValueError) as exc:
            result.qc.append(qc.failed(self.name, inputs.series_uid, f"geometry that cannot be trusted: {exc}"))
            return result
        b0 = diff.data[..., diff.bvals < 50].mean(axis=-1)
        seg = segment_cord(AxialView.of(diff.grid.with_array(b0.astype(np.float32))), polarity=Polarity.CSF_BRIGHT)
        verdict, seg, _ = qc.review(self.name, inputs.series_uid, seg, slice_morphometry(seg))
        mask = AxialView.of(diff.grid).to_source(seg.mask)
        if mask.sum() == 0:
            result.qc.append(verdict)
            result.notes.append("cord not found on the b = 0 image")
            return result
        fa, md = fit_dti(diff, mask)
        result.details.update({"mask": mask, "fa": fa, "md": md})
        result.qc.append(_with_value_check(verdict, self.name, float(fa[mask].mean()), FA_RANGE, "mean FA"))
        for name, code, values, unit in (
            ("cord FA", FA_CODE, fa[mask], "1"),
            ("cord MD", MD_CODE, md[mask], "mm2/s"),
        ):
            result.measurements.append(
                Measurement(
                    name=name,
                    concept=code,
                    value=float(values.mean()),
                    unit=unit,
                    site=SPINAL_CORD,
                    sd=float(values.std()),
                    voxels=int(mask.sum()),
                    rule="CORD-DTI-1",
                    method="dipy TensorModel (WLS) in automatic cord mask",
                    series_instance_uid=inputs.series_uid,
                    sop_instance_uids=diff.grid.sop_instance_uids,
                )
            )
        return result


def mtr_map(mt_off: Volume, mt_on: Volume) -> np.ndarray:
    """MTR (percent) = 100 (M0 - Msat) / M0 voxel by voxel; 0 where M0 <= 0."""
    if mt_off.array.shape != mt_on.array.shape or not np.allclose(mt_off.positions, mt_on.positions, atol=0.05):
        raise ValueError("MT-off and MT-on series are not on one grid")
    m0 = mt_off.array.astype(float)
    ms = mt_on.array.astype(float)
    return np.asarray(np.where(m0 > 0, 100.0 * (m0 - ms) / np.where(m0 > 0, m0, 1.0), 0.0))


class MtrAnalyser:
    """MTR inside the cord from an MT-on / MT-off pair (CORD-MT-1)."""

    name = "cord_mtr"
    version = VERSION

    def select(self, series: Sequence[SeriesInput]) -> tuple[SeriesInput, SeriesInput] | None:
        mt = [s for s in series if s.sequence == "MT"]
        on = [s for s in mt if _mt_on(s)]
        for s_on in on:
            for s_off in series:
                if s_off is s_on or _mt_on(s_off) or s_off.plane != s_on.plane:
                    continue
                if len(s_off.datasets) == len(s_on.datasets) and s_off.sequence in (
                    "MT",
                    "T2STAR",
                    "OTHER",
                    "T1",
                ):
                    return (s_off, s_on)
        return None

    def run(self, inputs: tuple[SeriesInput, SeriesInput], context: Mapping[str, Any]) -> AnalyserResult:
        result = AnalyserResult(self.name, self.version)
        series_uid = inputs[1].series_uid
        try:
            off, on = (load_volume(s.datasets) for s in inputs)
            mtr_map(off, on)  # the same grid, or ValueError
        except (GeometryError, ValueError) as exc:
            result.qc.append(qc.failed(self.name, series_uid, f"geometry that cannot be trusted: {exc}"))
            return result
        off, on, scale_problem = _one_scale(off, on, inputs)
        transforms = register_in_plane(off.array, on.array)
        on_registered = on.with_array(apply(on.array, transforms).astype(np.float32))
        mtr = mtr_map(off, on_registered)
        mask = context.get("mt_cord_mask")  # a cord mask given on the MT-off grid
        if mask is None:
            # CSF is brighter than cord on both images; the cord is segmented on the one that shows it (the
            # MT-off image, or the registered MT-on image when that one passes QC and MT-off does not).
            best: tuple[int, np.ndarray, QcVerdict] | None = None
            for image in (off, on_registered):
                view = AxialView.of(image)
                seg = segment_cord(view, polarity=Polarity.CSF_BRIGHT)
                v, seg, _ = qc.review(self.name, series_uid, seg, slice_morphometry(seg))
                rank = 0 if v.ok else (1 if v.status is QcStatus.UNRELIABLE else 2) * 100 + v.reason.count(";")
                if best is None or rank < best[0]:
                    best = (rank, view.to_source(eroded(view, seg.mask)), v)
            assert best is not None
            _, mask, verdict = best
        else:
            verdict = QcVerdict(self.name, series_uid, QcStatus.OK)
        if scale_problem and verdict.status is not QcStatus.FAILED:
            verdict = QcVerdict(
                self.name, series_uid, QcStatus.UNRELIABLE, f"{verdict.reason}; {scale_problem}".strip("; ")
            )
        result.details.update({"mtr": mtr, "mask": mask, "registration": transforms})
        if not np.any(mask):
            result.qc.append(verdict)
            result.notes.append("cord not found on the MT-off image")
            return result
        values = mtr[mask]
        result.qc.append(_with_value_check(verdict, self.name, float(values.mean()), MTR_RANGE, "mean MTR (%)"))
        result.measurements.append(
            Measurement(
                name="cord MTR",
                concept=MTR_CODE,
                value=float(values.mean()),
                unit="%",
                site=SPINAL_CORD,
                sd=float(values.std()),
                voxels=int(mask.sum()),
                rule="CORD-MT-1",
                method="100 (M0 - Msat) / M0, MT-on registered onto MT-off, in the eroded cord mask",
                series_instance_uid=inputs[1].series_uid,
                sop_instance_uids=on.sop_instance_uids,
            )
        )
        return result


def _one_scale(off: Volume, on: Volume, inputs: tuple[SeriesInput, SeriesInput]) -> tuple[Volume, Volume, str]:
    """MT-off and MT-on on one scale: both as Philips floating-point values when both carry the private scale
    slope; unchanged otherwise, with the reason when only one carries it (their scales cannot be reconciled)."""
    off_fp, on_fp = floating_point(off, inputs[0].datasets), floating_point(on, inputs[1].datasets)
    if off_fp is not None and on_fp is not None:
        return off_fp, on_fp, ""
    carried = [name for name, s in zip(("MT-off", "MT-on"), inputs, strict=True) if carries_scale(s.datasets)]
    if not carried:
        return off, on, ""
    return (
        off,
        on,
        (
            f"MT-off and MT-on may be on different intensity scales: the Philips private scale slope is on "
            f"{' and '.join(carried)} {'only' if len(carried) == 1 else 'but not on every slice'}, so the MTR "
            "cannot be put on one scale"
        ),
    )


def _mt_on(s: SeriesInput) -> bool:
    ds = s.datasets[0]
    variants = [str(v) for v in (ds.get("SequenceVariant") or [])]
    description = str(s.inventory.description or ds.get("SeriesDescription", "")).lower()
    if "MTC" in variants:
        return True
    off_words = ("mt0", "mt off", "mt_off", "nomt", "no mt", "mtoff", "without mt")
    return "mt" in description and not any(w in description for w in off_words) and s.sequence == "MT"
