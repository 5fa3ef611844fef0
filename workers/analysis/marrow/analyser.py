"""The marrow ADC analyser: ADC map, vertebral bodies, marrow ROIs, VB-ADC-1 and VB-SIG-1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from workers.analysis.adc import diffusion_volumes, fit_adc, vendor_adc
from workers.analysis.annotations import roi_mask, shapes_of
from workers.analysis.base import (
    ADC_CODE,
    AnalyserResult,
    CandidateFinding,
    Measurement,
    QcStatus,
    QcVerdict,
    SeriesInput,
    vertebra_code,
)
from workers.analysis.marrow.bodies import (
    MarrowRoi,
    candidate_rois,
    find_vertebral_bodies,
    relative_signal,
    resample_labels,
    roi_stats,
)
from workers.analysis.render import roi_key_image
from workers.analysis.segmentations import cord_segmentation
from workers.analysis.volume import Volume, load_volume
from workers.criteria.rules_quant import classify_vb_adc, vb_signal_differential
from workers.results.section import RoiValue

VERSION = "1.0"
NORMAL_MARROW_ADC = (0.1e-3, 1.2e-3)  # mm2/s, adult vertebral marrow (fatty to cellular)


@dataclass(frozen=True)
class MarrowInputs:
    diffusion: SeriesInput | None
    adc_map: SeriesInput | None
    t1: SeriesInput | None
    t2: SeriesInput | None
    stir: SeriesInput | None
    annotations: tuple[SeriesInput, ...] = ()


def _first(series: Sequence[SeriesInput], sequence: str, plane: str | None = None) -> SeriesInput | None:
    for s in series:
        if s.sequence == sequence and (plane is None or s.plane == plane):
            return s
    return None


class MarrowAdcAnalyser:
    """VB-ADC-1/VB-SIG-1 inputs: ADC per marrow ROI, from DWI (>= 2 b-values) or a vendor ADC map."""

    name = "marrow_adc"
    version = VERSION

    def select(self, series: Sequence[SeriesInput]) -> MarrowInputs | None:
        dwi = next((s for s in series if s.sequence == "DWI" and len(s.inventory.b_values) >= 2), None)
        adc = _first(series, "ADC")
        if dwi is None and adc is None:
            return None
        annotations = tuple(s for s in series if s.inventory.modality in ("SR", "PR"))
        return MarrowInputs(
            dwi,
            adc,
            _first(series, "T1", "sagittal"),
            _first(series, "T2", "sagittal"),
            _first(series, "STIR", "sagittal"),
            annotations,
        )

    def run(self, inputs: MarrowInputs, context: Mapping[str, Any]) -> AnalyserResult:
        result = AnalyserResult(self.name, self.version)
        if inputs.diffusion is not None:
            adc = fit_adc(diffusion_volumes(inputs.diffusion.datasets))
            source = inputs.diffusion
            result.notes.append(
                "ADC: mono-exponential log-linear least-squares fit over "
                f"b = {', '.join(f'{round(b, 3):g}' for b in inputs.diffusion.inventory.b_values)}"
            )
        else:
            assert inputs.adc_map is not None
            adc = vendor_adc(inputs.adc_map.datasets)
            source = inputs.adc_map
            result.notes.append("ADC: vendor ADC map")
        levels = context.get("levels")
        result.details["adc_grid"] = (source.series_uid, adc.sop_instance_uids)
        rois: list[MarrowRoi] = []
        normal: float | None = None
        body_mask = np.zeros(adc.array.shape, dtype=bool)
        anat: dict[str, Volume] = {}
        for key, s in (("T1", inputs.t1), ("T2", inputs.t2), ("STIR", inputs.stir)):
            if s is not None:
                anat[key] = load_volume(s.datasets)
        # Why the bodies could not be looked for (None: they were).
        not_looked_for: str | None = "no sagittal T1 and T2 to find the vertebral bodies"
        if "T1" in anat and "T2" in anat:
            seg = cord_segmentation(anat["T2"])
            found = np.nonzero(seg.found)[0]
            canal = seg.view.to_patient(np.column_stack([found, seg.centres[found]]))
            if len(canal) < 2:  # the bodies are looked for in front of the canal
                not_looked_for = "no spinal canal found on the sagittal T2 to find the vertebral bodies from"
            else:
                not_looked_for = None
                labels, bodies = find_vertebral_bodies(anat["T1"], canal, levels)
                result.details["vertebral_bodies"] = bodies
                if bodies and inputs.t1 is not None:
                    result.details["body_mask"] = (inputs.t1.series_uid, labels > 0, anat["T1"].sop_instance_uids)
                if bodies:
                    body_labels = resample_labels(anat["T1"].with_array(labels.astype(np.float32)), adc)
                    body_mask = body_labels > 0
                    rois, normal = candidate_rois(adc, body_labels, bodies)
        if not_looked_for is not None:
            result.notes.append(f"{not_looked_for}: no automatic marrow ROI")
        if normal is not None:
            result.details["normal_marrow_adc_mm2_s"] = normal
        rois += self._annotation_rois(result, inputs, adc, levels or {}, body_mask)
        result.details["rois"] = rois
        bodies_found = bool(result.details.get("vertebral_bodies"))
        result.qc.append(self._verdict(source.series_uid, normal, rois, bodies_found, not_looked_for))
        for roi in rois:
            self._report_roi(result, roi, adc, source, normal, anat, body_mask)
        return result

    def _verdict(
        self, series_uid: str, normal: float | None, rois: list[MarrowRoi], bodies: bool, not_looked_for: str | None
    ) -> QcVerdict:
        """ok when the bodies (or radiologist ROIs) were found and the normal marrow ADC is physiological."""
        if not rois and not bodies:
            why = not_looked_for or "no vertebral body found"
            return QcVerdict(self.name, series_uid, QcStatus.FAILED, f"{why}, and no radiologist ROI")
        low, high = NORMAL_MARROW_ADC
        if normal is not None and not low <= normal <= high:
            return QcVerdict(
                self.name,
                series_uid,
                QcStatus.UNRELIABLE,
                f"normal marrow ADC {normal * 1e3:.2f} x10^-3 mm2/s is outside the physiological range "
                f"({low * 1e3:.1f}-{high * 1e3:.1f}): the ADC map or the bodies found cannot be trusted",
            )
        return QcVerdict(self.name, series_uid, QcStatus.OK)

    @staticmethod
    def _annotation_rois(
        result: AnalyserResult,
        inputs: MarrowInputs,
        adc: Volume,
        levels: Mapping[str, tuple[float, float]],
        body_mask: np.ndarray,
    ) -> list[MarrowRoi]:
        """Radiologist ROIs (SR planar ROIs, GSPS graphics) mapped onto the ADC grid."""
        shapes = shapes_of([ds for s in inputs.annotations for ds in s.datasets])
        if not shapes:
            return []
        images = {
            str(ds.SOPInstanceUID): ds
            for s in (inputs.diffusion, inputs.adc_map, inputs.t1, inputs.t2, inputs.stir)
            if s is not None
            for ds in s.datasets
        }
        rois = []
        for shape in shapes:
            mask = roi_mask(shape, images, adc)
            if mask is None or not mask.any():
                result.notes.append(f"{shape.source} ROI {shape.name!r}: its image is not in this study's MR series")
                continue
            mean, sd, count = roi_stats(adc.array, mask)
            z = float(adc.to_patient(np.argwhere(mask).mean(axis=0, keepdims=True))[0, 2])
            level = next((n for n, (top, bottom) in levels.items() if bottom <= z <= top), None)
            if body_mask.any():
                outside = float((mask & ~body_mask).sum()) / count
                if outside > 0.2:
                    result.notes.append(f"{shape.name}: {outside:.0%} of the ROI lies outside the vertebral bodies")
            name = f"{shape.source} ROI {shape.name}" + (f" ({level})" if level else "")
            rois.append(MarrowRoi(name, mask, level, mean, sd, count, "annotation"))
        return rois

    def _report_roi(
        self,
        result: AnalyserResult,
        roi: MarrowRoi,
        adc: Volume,
        source: SeriesInput,
        normal: float | None,
        anat: Mapping[str, Volume],
        body_mask: np.ndarray,
    ) -> None:
        slices = sorted({int(k) for k in np.argwhere(roi.mask)[:, 0]})
        sops = tuple(adc.sop_instance_uids[k] for k in slices)
        result.measurements.append(
            Measurement(
                name=f"ADC {roi.name}",
                concept=ADC_CODE,
                value=roi.adc_mean,
                unit="mm2/s",
                site=vertebra_code(roi.level),
                level=roi.level,
                sd=roi.adc_sd,
                voxels=roi.voxels,
                roi=roi.name,
                rule="VB-ADC-1",
                method="mean over ROI",
                series_instance_uid=source.series_uid,
                sop_instance_uids=sops,
            )
        )
        vb = classify_vb_adc(roi.adc_mean * 1e3, roi.voxels, None if normal is None else normal * 1e3)
        signals = {key: relative_signal(vol, adc, roi.mask, body_mask & ~roi.mask) for key, vol in anat.items()}
        differential: tuple[str, ...] = ()
        if signals.get("T1") and signals.get("T2"):
            sig = vb_signal_differential(signals["T1"], signals["T2"], signals.get("STIR"))  # type: ignore[arg-type]
            differential = sig.differential
        where = roi.level or "a vertebral body"
        text = (
            f"{roi.name}: ADC {roi.adc_mean * 1e3:.2f} x10^-3 mm2/s (SD {roi.adc_sd * 1e3:.2f}, "
            f"{roi.voxels} voxels) in {where}: {vb.classification.replace('_', ' ')}"
        )
        if differential:
            text += "; signal pattern: " + ", ".join(differential)
        confidence = 0.5 if vb.classification == "unreliable" else 0.7
        result.findings.append(
            CandidateFinding(
                description=text,
                confidence=confidence,
                rules=vb.rules + (("VB-SIG-1",) if differential else ()),
                level=roi.level,
                series_instance_uid=source.series_uid,
                sop_instance_uids=sops,
            )
        )
        result.details.setdefault("vb", []).append(
            {"roi": roi.name, "vb_adc": vb, "signals": signals, "differential": differential}
        )
        centre = slices[len(slices) // 2]
        result.key_images.append(
            roi_key_image(
                adc,
                roi.mask,
                centre,
                caption=text,
                window=(0.0, 3.0e-3),
                roi_label=f"Marrow ROI {roi.name}",
                values=(RoiValue(ADC_CODE, float(roi.adc_mean), "mm2/s"),),
            )
        )
