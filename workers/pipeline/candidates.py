"""Automated candidate findings a radiologist has already settled (confirmed or rejected).

The pipeline holds candidates as :class:`~workers.analysis.base.CandidateFinding` objects; they become JSON
(:func:`candidates_json`) only at the edges: the registry, the criteria's findings document, the analyse
output. A candidate is identified across re-runs by exam, kind, normalised extent and pattern; the
criteria step counts only candidates nobody has settled (a confirmed one is counted as the radiologist's
finding).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workers.analysis.base import CandidateFinding

FINDING_KEYS = (
    "exam",
    "kind",
    "pattern",
    "levels",
    "enhancement",
    "continuous_with_subarachnoid",
    "continuous_with_puncture_site",
    "dural_defect",
    "cisternal_filling_seen",
    "source",
    "id",
    "study_instance_uid",
    "series_uid",
    "sop_instance_uids",
    "confidence",
    "study_date",
    "institution_name",
)


def candidate_key(finding: dict[str, Any]) -> str:
    """What identifies a candidate finding across re-runs: exam, kind, normalised extent and pattern
    (``spinal_mri/epidural_fluid/C7-T2/``). Pure; accepts a finding or its reference in a criteria result."""
    from workers.criteria import FindingsError, parse_findings

    body = {k: v for k, v in finding.items() if k in FINDING_KEYS and k not in ("source", "id")}
    try:
        parsed = parse_findings({"findings": [body]}).findings[0]
        levels = str(parsed.level_range) if parsed.level_range is not None else ""
    except FindingsError:
        levels = "-".join(str(v) for v in finding.get("levels") or [])
    return f"{finding.get('exam')}/{finding.get('kind')}/{levels}/{finding.get('pattern') or ''}"


def candidates_json(candidates: Iterable[CandidateFinding]) -> list[dict[str, Any]]:
    """The candidates in the findings contract (source ``automated``), with their traceability."""
    return [item for c in candidates if (item := c.as_json()) is not None]


def without_settled(candidates: list[CandidateFinding], settled: set[str]) -> list[CandidateFinding]:
    """The automated candidates a radiologist has neither rejected nor confirmed (pure; for the criteria
    step: ``findings = entries + candidates_json(without_settled(ctx.candidate_findings, settled))``)."""
    return [c for c in candidates if (item := c.as_json()) is not None and candidate_key(item) not in settled]
