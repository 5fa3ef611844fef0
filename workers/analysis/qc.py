"""Quality verdicts shared by the analysers, and the one place where they are enforced.

:func:`cord_mask_verdict` judges an automatic cord mask (found on enough slices, a continuous centre line,
a cross-section in the physiological range that changes smoothly from slice to slice). :func:`enforce` is called by
:func:`workers.analysis.run_analysers` on every result: an output without a verdict gets a conservative
``unreliable`` one, and the findings of every output that is not ``ok`` are withheld (kept as notes), so
that nothing unreliable is graded, becomes a candidate or raises a flag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

from workers.analysis.base import AnalyserResult, QcStatus, QcVerdict, SeriesInput

MIN_FOUND_FRACTION = 0.5  # the cord must be seen on at least half the slices that should show it
MAX_STEP_MM = 4.0  # the centre line may not jump more than this between neighbouring slices
CSA_RANGE_MM2 = (20.0, 130.0)  # median cord cross-section of an adult, C1 to the conus (PAM50: ~30-80)
ERRATIC_CHANGE = 0.25  # a cross-section this far from the median of the slices within +/- 4 mm: the cord
MAX_ERRATIC_FRACTION = 0.10  # changes far less over 8 mm, even at the cervical enlargement, above the conus tip
ERRATIC_WINDOW_MM = 9.0
NO_VERDICT = "the analyser gave no quality verdict for this output"


def series_of(selected: Any) -> list[SeriesInput]:
    """The series an analyser selected (a series, a tuple of series or a dataclass holding series)."""
    if isinstance(selected, SeriesInput):
        return [selected]
    if isinstance(selected, tuple | list):
        return [s for item in selected for s in series_of(item)]
    if is_dataclass(selected) and not isinstance(selected, type):
        return [s for f in fields(selected) for s in series_of(getattr(selected, f.name))]
    return []


def cord_mask_verdict(analyser: str, series_uid: str, seg: Any, csa_mm2: Iterable[float] = ()) -> QcVerdict:
    """Verdict on an automatic cord mask (:class:`~workers.analysis.cord.segmentation.CordSegmentation`)."""
    found = np.asarray(seg.found, dtype=bool)
    n = int(found.size)
    if n == 0 or not found.any():
        return QcVerdict(analyser, series_uid, QcStatus.FAILED, "no spinal cord found in the field")
    fraction = float(found.mean())
    if n >= 3 and fraction < MIN_FOUND_FRACTION:
        return QcVerdict(
            analyser, series_uid, QcStatus.UNRELIABLE, f"the cord was found on only {found.sum()} of {n} slices"
        )
    idx = np.nonzero(found)[0]
    if idx.size >= 3:
        _, sy, sx = seg.view.spacing
        centres = np.asarray(seg.centres)[idx]
        steps = np.hypot(np.diff(centres[:, 0]) * sy, np.diff(centres[:, 1]) * sx) / np.maximum(np.diff(idx), 1)
        if float(np.max(steps)) > MAX_STEP_MM:
            return QcVerdict(
                analyser,
                series_uid,
                QcStatus.UNRELIABLE,
                f"broken centre line: the cord centre jumps {float(np.max(steps)):.0f} mm between slices",
            )
        gaps = np.diff(idx)
        if int(gaps.max()) > max(3, n // 5):
            return QcVerdict(
                analyser, series_uid, QcStatus.UNRELIABLE, f"the cord is lost on {int(gaps.max()) - 1} slices in a row"
            )
    areas = np.asarray(list(csa_mm2), dtype=float)
    if areas.size:
        median = float(np.median(areas))
        if not CSA_RANGE_MM2[0] <= median <= CSA_RANGE_MM2[1]:
            return QcVerdict(
                analyser,
                series_uid,
                QcStatus.UNRELIABLE,
                f"cord cross-section {median:.0f} mm2 is outside the physiological range "
                f"({CSA_RANGE_MM2[0]:.0f}-{CSA_RANGE_MM2[1]:.0f} mm2)",
            )
        size = max(3, 2 * int(round(ERRATIC_WINDOW_MM / float(seg.view.spacing[0]) / 2)) + 1)
        if areas.size >= size + 2:
            local = median_filter(areas, size=size, mode="nearest")
            erratic = float(np.mean(np.abs(areas - local) > ERRATIC_CHANGE * np.maximum(local, 1e-6)))
            if erratic > MAX_ERRATIC_FRACTION:
                return QcVerdict(
                    analyser,
                    series_uid,
                    QcStatus.UNRELIABLE,
                    f"implausible shape: the cross-section jumps from slice to slice on {erratic:.0%} of the slices "
                    "(nerve roots below the conus, or another structure)",
                )
    return QcVerdict(analyser, series_uid, QcStatus.OK)


def failed(analyser: str, selected: Any, reason: str) -> list[QcVerdict]:
    """``failed`` verdicts for every series an analyser selected (it raised instead of returning)."""
    uids = [s.series_uid for s in series_of(selected)] or [""]
    return [QcVerdict(analyser, uid, QcStatus.FAILED, reason) for uid in dict.fromkeys(uids)]


def enforce(result: AnalyserResult, selected: Any) -> AnalyserResult:
    """Give every selected series a verdict (conservative ``unreliable`` when the analyser gave none) and
    withhold the findings of outputs that are not ``ok``; measurements of ``failed`` outputs are dropped."""
    have = {v.series_uid for v in result.qc}
    for s in series_of(selected):
        if s.series_uid not in have and not result.qc:
            result.qc.append(QcVerdict(result.analyser, s.series_uid, QcStatus.UNRELIABLE, NO_VERDICT))
            have.add(s.series_uid)
    worst = _worst(result.qc)

    def verdict_of(series_uid: str) -> QcVerdict | None:
        return result.verdict(series_uid) if series_uid and result.verdict(series_uid) else worst

    kept = []
    for finding in result.findings:
        verdict = verdict_of(finding.series_instance_uid)
        if verdict is None or verdict.ok:
            kept.append(finding)
        else:
            result.notes.append(f"not reported ({verdict.status.value}: {verdict.reason}): {finding.description}")
    result.findings = kept
    result.measurements = [
        m
        for m in result.measurements
        if (v := verdict_of(m.series_instance_uid)) is None or v.status is not QcStatus.FAILED
    ]
    if any(not v.ok for v in result.qc):
        result.details.pop("context_hints", None)
    return result


_RANK = {QcStatus.OK: 0, QcStatus.UNRELIABLE: 1, QcStatus.FAILED: 2}


def _worst(verdicts: Iterable[QcVerdict]) -> QcVerdict | None:
    return max(verdicts, key=lambda v: _RANK[v.status], default=None)


def gradable(verdicts: Iterable[QcVerdict], series_uid: str) -> bool:
    """Whether an output of ``series_uid`` may be graded: its verdict (or, without one, every verdict) is ok."""
    verdicts = list(verdicts)
    own = [v for v in verdicts if v.series_uid == series_uid]
    return all(v.ok for v in (own or verdicts))
