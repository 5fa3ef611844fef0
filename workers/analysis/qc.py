"""The one place where the analysers' quality verdicts are enforced (the cord mask is judged by
:mod:`workers.analysis.cord.qc`). :func:`enforce` is called by
:func:`workers.analysis.run_analysers` on every result: an output without a verdict gets a conservative
``unreliable`` one, and the findings of every output that is not ``ok`` are withheld (kept as notes), so
that nothing unreliable is graded, becomes a candidate or raises a flag.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from workers.analysis.base import AnalyserResult, QcStatus, QcVerdict, SeriesInput

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


def failed(analyser: str, selected: Any, reason: str) -> list[QcVerdict]:
    """``failed`` verdicts for every series an analyser selected (it raised instead of returning)."""
    uids = [s.series_uid for s in series_of(selected)] or [""]
    return [QcVerdict(analyser, uid, QcStatus.FAILED, reason) for uid in dict.fromkeys(uids)]


def enforce(result: AnalyserResult, selected: Any) -> AnalyserResult:
    """Give every selected series a verdict (conservative ``unreliable`` when the analyser gave none) and
    withhold the findings of outputs that are not ``ok``; measurements of ``failed`` outputs are dropped."""
    if not result.qc:
        uids = [s.series_uid for s in series_of(selected)] or [""]
        result.qc.extend(
            QcVerdict(result.analyser, uid, QcStatus.UNRELIABLE, NO_VERDICT) for uid in dict.fromkeys(uids)
        )
    worst = max(result.qc, key=lambda v: _RANK[v.status])

    def verdict_of(series_uid: str) -> QcVerdict:
        return (result.verdict(series_uid) if series_uid else None) or worst

    kept = []
    for finding in result.findings:
        verdict = verdict_of(finding.series_instance_uid)
        if verdict.ok:
            kept.append(finding)
        else:
            result.notes.append(f"not reported ({verdict.status.value}: {verdict.reason}): {finding.description}")
    result.findings = kept
    result.measurements = [
        m for m in result.measurements if verdict_of(m.series_instance_uid).status is not QcStatus.FAILED
    ]
    if not worst.ok:
        result.details.pop("context_hints", None)
    return result


_RANK = {QcStatus.OK: 0, QcStatus.UNRELIABLE: 1, QcStatus.FAILED: 2}
