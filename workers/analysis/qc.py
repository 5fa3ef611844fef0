"""The one place where the analysers' quality verdicts are enforced (the cord mask is judged by
:mod:`workers.analysis.cord.qc`). :func:`enforce` is called by
:func:`workers.analysis.run_analysers` on every result: an output without a verdict gets a conservative
``unreliable`` one, and the findings of every output that is not ``ok`` are withheld (kept as notes), so
that nothing unreliable is graded, becomes a candidate or raises a flag.
"""

from __future__ import annotations

from collections.abc import Iterable
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
