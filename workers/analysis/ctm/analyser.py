"""CT myelography pre-read: epidural and subdural contrast (CSF-LEAK-CTM-1..4), with a QC verdict per series.

QC first (headers: slices, thickness <= 3 mm, gantry tilt; pixels: CT numbers, metal, contrast in the sac,
contrast against the vertebra that cannot be told from its cortex, see :mod:`workers.analysis.ctm.bone`). Only
an ``ok`` series gives candidates. Extra-sac contrast (see :mod:`workers.analysis.ctm.contrast`) on at least two
neighbouring slices (a gap of one slice bridged) is one finding over its z range:

- ``dural_defect`` and ``continuous_with_subarachnoid`` true where it joins the sac with no wall between;
- ``continuous_with_puncture_site`` true with a needle track, false when the collection ends at least 20 mm
  above the bottom of the field with no track, unknown (null) when it runs out of the field;
- subdural crescents are ``subdural_contrast``.

Levels come from :mod:`workers.analysis.ctm.levels` (anchors with cross-check) or are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from workers.analysis.base import (
    AnalyserResult,
    CandidateFinding,
    Measurement,
    QcStatus,
    QcVerdict,
    SeriesInput,
)
from workers.analysis.ctm.contrast import SacReading, read_sac
from workers.analysis.ctm.ct_volume import CtVolume, header_problems, load_ct
from workers.analysis.ctm.levels import CtLevels, name_levels
from workers.analysis.exam_codes import CTM_EXTENT, CTM_HU, DURAL_SAC, EPIDURAL_SPACE, SUBDURAL_SPACE

VERSION = "1.0"
NAME = "ct_myelography"
METAL_HU = 2500.0  # denser than any cortical bone (<= ~2000 HU)
#: Every CT of the spine holds fat (about -100 HU) or air around the body; pixels that are never this dark are
#: not CT numbers (an MR series labelled CT, or a map on another scale), and their "contrast" is no contrast.
FAT_HU = -50.0
MIN_FAT_FRACTION = 0.001
MIN_SAC_COVERAGE = 0.6


class CtMyelographyAnalyser:
    """Epidural / subdural contrast on axial CT myelograms."""

    name = NAME
    version = VERSION

    def select(self, series: Sequence[SeriesInput]) -> tuple[SeriesInput, ...] | None:
        ct = tuple(s for s in series if s.inventory.modality.upper() == "CT")
        return ct or None

    def run(self, inputs: tuple[SeriesInput, ...], context: Mapping[str, Any]) -> AnalyserResult:
        result = AnalyserResult(self.name, self.version)
        for s in inputs:
            self._series(s, result)
        return result

    def _verdict(self, result: AnalyserResult, s: SeriesInput, status: QcStatus, reasons: list[str]) -> None:
        result.qc.append(QcVerdict(self.name, s.series_uid, status, "; ".join(reasons)))

    def _series(self, s: SeriesInput, result: AnalyserResult) -> None:
        failed, unreliable = header_problems(s.datasets)
        if failed:
            self._verdict(result, s, QcStatus.FAILED, failed)
            return
        vol = load_ct(s.datasets)
        if np.count_nonzero(vol.hu <= FAT_HU) < MIN_FAT_FRACTION * vol.hu.size:
            self._verdict(result, s, QcStatus.FAILED, [
                f"the pixel values are not CT numbers: nothing in the field is as dark as fat or air (at most "
                f"{FAT_HU:.0f} HU)"
            ])  # fmt: skip
            return
        metal = (vol.hu >= METAL_HU).reshape(len(vol.z), -1).sum(axis=1) >= 5
        if metal.any():
            z = vol.z[metal]
            unreliable.append(f"metal artefact on {int(metal.sum())} slices (z {z.max():.0f} to {z.min():.0f} mm)")
        sac = read_sac(vol)
        if sac.coverage < MIN_SAC_COVERAGE:
            self._verdict(result, s, QcStatus.FAILED, [
                f"no contrast in the dural sac on {100 * (1 - sac.coverage):.0f} % of the slices: not a CT myelogram"
            ])  # fmt: skip
            return
        # the masks for the Segmentation: the sac, and the leak on the slices of the epidural findings only
        leak = np.zeros_like(sac.leak_mask)
        for a, b in _runs(sac, "epidural"):
            leak[a : b + 1] = sac.leak_mask[a : b + 1]
        result.details.setdefault("ctm_masks", []).append((s.series_uid, sac.sac_mask, leak, vol.sop_instance_uids))
        levels = name_levels(vol, sac)
        result.details.setdefault("levels", {})[s.series_uid] = levels.levels
        result.notes.append(
            f"CT levels named from {levels.anchor}" if levels.levels else f"CT levels not named: {levels.anchor}"
        )
        # (on a slice with metal the artefact already makes the reading unreliable)
        against = [k for k, c in enumerate(sac.slices) if c.against_bone_mm2 > 0 and not metal[k]]
        if len(against) >= 2:
            top, bottom = float(vol.z[against[0]]), float(vol.z[against[-1]])
            unreliable.append(
                "contrast outside the sac lies against bone and cannot be told from the vertebra's cortex "
                f"(on {len(against)} slices, z {max(top, bottom):.0f} to {min(top, bottom):.0f} mm)"
            )
        sac_hu = float(np.nanmedian(sac.sac_hu))
        result.measurements.append(self._measure("ctm_sac_contrast_hu", CTM_HU, sac_hu, "[hnsf'U]", DURAL_SAC, s))
        if unreliable:
            self._verdict(result, s, QcStatus.UNRELIABLE, unreliable)
            return
        self._verdict(result, s, QcStatus.OK, [])
        for kind, rows in (
            ("epidural_contrast", _runs(sac, "epidural")),
            ("subdural_contrast", _runs(sac, "subdural")),
        ):
            for a, b in rows:
                self._finding(kind, a, b, vol, sac, levels, s, result)

    @staticmethod
    def _measure(name: str, concept: Any, value: float, unit: str, site: Any, s: SeriesInput,
                 level: str | None = None) -> Measurement:  # fmt: skip
        return Measurement(name, concept, round(value, 2), unit, site, level=level, roi=name,
                           series_instance_uid=s.series_uid)  # fmt: skip

    def _finding(
        self, kind: str, a: int, b: int, vol: CtVolume, sac: SacReading, levels: CtLevels, s: SeriesInput,
        result: AnalyserResult,
    ) -> None:  # fmt: skip
        top, bottom = float(vol.z[a]), float(vol.z[b])
        extent = top - bottom + vol.slice_mm
        upper, lower = levels.level_of(top), levels.level_of(bottom)
        named = upper is not None and lower is not None
        span = f"{upper} to {lower}" if named else f"z {top:.0f} to {bottom:.0f} mm (level not named)"
        hu = [h for k in range(a, b + 1) for h in sac.slices[k].extra_hu]
        site = EPIDURAL_SPACE if kind == "epidural_contrast" else SUBDURAL_SPACE
        prefix = "ctm_epidural" if kind == "epidural_contrast" else "ctm_subdural"
        result.measurements.append(self._measure(f"{prefix}_extent", CTM_EXTENT, extent, "mm", site, s, upper))
        if hu:
            result.measurements.append(self._measure(f"{prefix}_contrast_hu", CTM_HU, float(np.median(hu)),
                                                     "[hnsf'U]", site, s, upper))  # fmt: skip
        finding: dict[str, Any] = {"exam": "ct_myelography", "kind": kind, "source": "automated"}
        if named:
            finding["levels"] = [upper, lower]
        sops = vol.sop_instance_uids[a : b + 1]
        if kind == "subdural_contrast":
            text = f"subdural contrast crescent ({span}), {extent:.0f} mm long: reported, not counted"
            rules: tuple[str, ...] = ("CSF-LEAK-CTM-4",)
        else:
            joined_slices = sum(sac.slices[k].joined_mm2 > 0 for k in range(a, b + 1))
            # a defect is focal: contrast joined to the sac on most slices means the wall is not resolved
            unresolved = joined_slices > 0.5 * (b - a + 1)
            joined = 2 <= joined_slices and not unresolved
            track = any(sac.slices[k].track for k in range(a, b + 1))
            if track:
                puncture: bool | None = True
            elif bottom - float(vol.z[-1]) >= 20.0:
                puncture = False
            else:
                puncture = None
            # on the needle path a gap in the wall is the puncture hole: it says nothing about a leak site
            wall: bool | None = None if (unresolved or track) else joined
            finding.update(continuous_with_puncture_site=puncture, continuous_with_subarachnoid=wall,
                           dural_defect=wall)  # fmt: skip
            parts = ["epidural contrast", f"({span})", f"{extent:.0f} mm long"]
            if joined and not track:
                parts.append("joined to the sac through a gap in its wall (dural defect)")
            elif unresolved:
                parts.append("the sac wall is not resolved against it: continuity with the sac not judged")
            if track:
                parts.append("tracking out along the needle path: technical failure not excluded")
            text = ", ".join(parts[:1] + [" ".join(parts[1:3])] + parts[3:])
            rules = ("CSF-LEAK-CTM-3",) if track else (("CSF-LEAK-CTM-2",) if joined else ("CSF-LEAK-CTM-1",))
        result.findings.append(
            CandidateFinding(
                text, 0.6, finding, rules, level=upper, series_instance_uid=s.series_uid, sop_instance_uids=tuple(sops)
            )  # fmt: skip
        )


def _runs(sac: SacReading, which: str) -> list[tuple[int, int]]:
    """Runs of >= 2 slices with contrast of ``which`` kind, a one-slice gap bridged."""
    if which == "subdural":
        flags = np.array([c.subdural_mm2 > 0 and c.subdural_mm2 >= c.epidural_mm2 for c in sac.slices])
    else:
        flags = np.array([c.epidural_mm2 > 0 and c.epidural_mm2 > c.subdural_mm2 for c in sac.slices])
    runs: list[tuple[int, int]] = []
    k, n = 0, len(flags)
    while k < n:
        if not flags[k]:
            k += 1
            continue
        start, last = k, k
        while k < n and (flags[k] or (k + 1 < n and flags[k + 1])):
            if flags[k]:
                last = k
            k += 1
        if last - start + 1 >= 2:
            runs.append((start, last))
    return runs
