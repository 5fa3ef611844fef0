"""The cord morphometry analyser (CORD-MORPH-1) on a T2-weighted or steady-state series."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from workers.analysis.base import (
    AP_DIAMETER_CODE,
    AREA_CODE,
    COMPRESSION_RATIO_CODE,
    CSA_ZSCORE_CODE,
    MSCC_CODE,
    RL_DIAMETER_CODE,
    SPINAL_CORD,
    AnalyserResult,
    CandidateFinding,
    Measurement,
    SeriesInput,
)
from workers.analysis.cord import qc
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.centreline import polarity_of
from workers.analysis.cord.morphometry import by_level, compression_summary, load_normative, slice_morphometry
from workers.analysis.render import csa_plot, outline
from workers.analysis.segmentations import cord_segmentation
from workers.analysis.volume import GeometryError, load_volume
from workers.results.roi_outline import mask_outline
from workers.results.section import KeyImage, RoiValue

VERSION = "2.3"
MSCC_FINDING_PERCENT = 20.0
METHOD = (
    "canal top-hat and mid-sagittal prior, centre line by dynamic programming, closed smooth polar contour "
    "on the cord-to-fluid rise (PropSeg-like), angle-corrected"
)


class CordMorphometryAnalyser:
    """Cord CSA, AP and RL diameters per slice and level; compression; z-scores against PAM50 norms."""

    name = "cord_morphometry"
    version = VERSION

    def select(self, series: Sequence[SeriesInput]) -> SeriesInput | None:
        candidates = [s for s in series if s.sequence in ("T2", "SSFP") and s.plane in ("axial", "sagittal")]
        if not candidates:
            return None

        # Thin axial slices measure the cross-section best; otherwise the sagittal series.
        def rank(s: SeriesInput) -> tuple[int, float]:
            thickness = float(s.inventory.slice_thickness_mm or 99.0)
            return (0 if s.plane == "axial" and len(s.datasets) >= 5 else 1, thickness)

        return sorted(candidates, key=rank)[0]

    def run(self, inputs: SeriesInput, context: Mapping[str, Any]) -> AnalyserResult:
        result = AnalyserResult(self.name, self.version)
        try:
            volume = load_volume(inputs.datasets)
        except GeometryError as exc:
            result.qc.append(qc.failed(self.name, inputs.series_uid, f"geometry that cannot be trusted: {exc}"))
            return result
        view = AxialView.of(volume)
        seg = cord_segmentation(volume, polarity=polarity_of(inputs.sequence))
        slices = slice_morphometry(seg)
        figures = qc.figures(seg, slices)
        verdict = qc.verdict(self.name, inputs.series_uid, figures, view.spacing[0])
        seg, slices = qc.trimmed(seg, slices, figures)  # slices that failed their own checks are left out
        result.qc.append(verdict)
        result.details.update({"segmentation": seg, "slices": slices, "volume": volume, "qc_figures": figures})
        if not slices:
            result.notes.append("cord not found")
            return result
        sop_of_slice = {}
        source_axis = view.axes[0]
        for s in slices:
            sop_of_slice[s.slice_index] = volume.sop_instance_uids[s.slice_index] if source_axis == 0 else None
        all_sops = volume.sop_instance_uids

        def measure(
            name: str,
            code: Any,
            value: float,
            unit: str,
            level: str | None = None,
            sops: tuple[str, ...] = all_sops,
        ) -> Measurement:
            return Measurement(
                name=name,
                concept=code,
                value=value,
                unit=unit,
                site=SPINAL_CORD,
                level=level,
                rule="CORD-MORPH-1",
                method=METHOD,
                series_instance_uid=inputs.series_uid,
                sop_instance_uids=sops,
            )

        csa = np.array([s.csa_mm2 for s in slices])
        result.measurements.append(measure("cord CSA (mean)", AREA_CODE, float(csa.mean()), "mm2"))
        result.measurements.append(
            measure("cord AP diameter (mean)", AP_DIAMETER_CODE, float(np.mean([s.ap_mm for s in slices])), "mm")
        )
        result.measurements.append(
            measure("cord RL diameter (mean)", RL_DIAMETER_CODE, float(np.mean([s.rl_mm for s in slices])), "mm")
        )
        levels = context.get("levels") or {}
        per_level = by_level(slices, levels) if levels else []
        result.details["levels"] = per_level
        for lv in per_level:
            result.measurements.append(measure(f"cord CSA {lv.level}", AREA_CODE, lv.csa_mm2, "mm2", lv.level))
            result.measurements.append(
                measure(f"cord AP diameter {lv.level}", AP_DIAMETER_CODE, lv.ap_mm, "mm", lv.level)
            )
            result.measurements.append(
                measure(f"cord RL diameter {lv.level}", RL_DIAMETER_CODE, lv.rl_mm, "mm", lv.level)
            )
            if lv.csa_z is not None:
                result.measurements.append(
                    measure(f"cord CSA z-score {lv.level}", CSA_ZSCORE_CODE, lv.csa_z, "{z-score}", lv.level)
                )
        comp = compression_summary(slices, levels) if verdict.ok else None
        result.details["compression"] = comp
        if comp is None:
            result.notes.append(
                "cord compression not assessed: "
                + (
                    "the cord output is not reliable"
                    if not verdict.ok
                    else "needs named levels and cord above and below"
                )
            )
        else:
            where = comp.level
            result.measurements.append(
                measure(
                    "cord compression ratio (AP/RL) at narrowest",
                    COMPRESSION_RATIO_CODE,
                    comp.compression_ratio,
                    "1",
                    where,
                )
            )
            result.measurements.append(measure("MSCC-style AP narrowing", MSCC_CODE, comp.mscc_percent, "%", where))
            if comp.mscc_percent >= MSCC_FINDING_PERCENT and verdict.ok:
                result.findings.append(
                    CandidateFinding(
                        description=(
                            f"cord narrowed by {comp.mscc_percent:.0f} % (AP {comp.min_ap_mm:.1f} mm against "
                            f"{comp.reference_ap_mm:.1f} mm expected from above/below) at {where}"
                        ),
                        confidence=min(0.9, 0.4 + comp.mscc_percent / 100.0),
                        rules=("CORD-MORPH-1",),
                        level=where,
                        series_instance_uid=inputs.series_uid,
                    )
                )
        result.key_images.append(self._key_image(seg, slices, comp.z_mm if comp else None, volume, verdict.ok))
        norms = load_normative()
        if per_level and verdict.ok:  # an unreliable output's areas are never drawn against the normal band
            plot = csa_plot(
                [lv.level for lv in per_level],
                [lv.csa_mm2 for lv in per_level],
                {k: (v.area_mean, v.area_sd) for k, v in norms.items()},
            )
            result.key_images.append(KeyImage(plot, "Cord CSA by vertebral level against PAM50 normative band"))
        return result

    @staticmethod
    def _key_image(seg: Any, slices: Sequence[Any], z_mm: float | None, volume: Any, reliable: bool) -> KeyImage:
        """The cord's outline on one slice; its area and diameters only when the output passed its check (an
        unreliable output's numbers are never shown as if they could be read)."""
        target = slices[len(slices) // 2] if z_mm is None else min(slices, key=lambda s: abs(s.z_mm - z_mm))
        k = target.slice_index
        pixels = outline(seg.view.array[k], seg.mask[k], colour=(255, 220, 0))
        caption = (
            f"cord contour, CSA {target.csa_mm2:.1f} mm2, AP {target.ap_mm:.1f} mm, RL {target.rl_mm:.1f} mm"
            if reliable
            else "cord contour: unreliable output, not measured"
        )
        sop = volume.sop_instance_uids[k] if seg.view.axes[0] == 0 else None
        mask = seg.mask[k] if tuple(seg.view.axes[1:]) == (1, 2) else seg.mask[k].T
        return KeyImage(
            pixels=pixels,
            caption=caption,
            source_sop_instance_uid=sop,
            outline=mask_outline(mask) if sop else (),
            roi_label="Spinal cord cross-section",
            values=(RoiValue(AREA_CODE, round(float(target.csa_mm2), 1), "mm2"),) if reliable else (),
        )
