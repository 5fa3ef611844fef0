"""What the results step adds for the findings: the report itself, the worklist flags, the lines the card
need not repeat, and the card's cord-area chart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from workers.criteria.words import NOT_ASSESSABLE_SUFFIX
from workers.results.card import Tile
from workers.results.findings import FindingsReport, Review
from workers.results.findings_build import build_findings
from workers.results.section import ReportSection

#: Section flags that are not findings but still matter to routing and the worklist.
_KEPT_FLAGS = ("EBP eligible", "ICH not applicable", "unsafe geometry")


def findings_report(
    *,
    analysis: Any,
    criteria: Any,
    checks: Sequence[Any],
    reviews: Mapping[str, str],
    findings_entries: Iterable[Mapping[str, Any]],
    clinical: Mapping[str, Any],
    errors: Sequence[str],
) -> FindingsReport:
    """The findings of one revision; radiologist findings that repeat an automated candidate confirm it."""
    from workers.pipeline.candidates import candidate_key

    confirmed = set()
    for entry in findings_entries:
        if entry.get("source", "radiologist") != "automated":
            try:
                confirmed.add(candidate_key(dict(entry)))
            except (TypeError, ValueError):
                continue
    decisions = {key: Review(value) for key, value in reviews.items() if value in ("confirmed", "rejected")}
    return build_findings(
        analysis,
        criteria,
        checks,
        reviews=decisions,
        confirmed_candidates=confirmed,
        clinical=clinical,
        errors=errors,
    )


def study_flags(report: FindingsReport, sections: Sequence[ReportSection]) -> list[str]:
    """Worklist and routing flags: the findings first, then the few section flags that are not findings."""
    kept = [f for s in sections for f in s.flags if f.startswith(_KEPT_FLAGS)]
    kept += [f"{n.what}{NOT_ASSESSABLE_SUFFIX}" for n in report.not_assessable]
    return list(dict.fromkeys([*report.headlines, *kept]))


def shown_lines(analysis: Any) -> frozenset[str]:
    """Section lines that the findings block already shows: the analysers' candidate descriptions, and the quality
    line of an output not ok (the block says it, and why, as not assessable: once on the card, not twice)."""
    from workers.analysis.sections import qc_line

    if analysis is None:
        return frozenset()
    not_ok = {qc_line(list(r.qc)) for r in analysis.results if any(not v.ok for v in r.qc)}
    return frozenset(f.description for f in analysis.findings) | not_ok


def card_charts(analysis: Any) -> list[Tile]:
    """The cord-area chart when the cord analyser measured per level."""
    import numpy as np

    from workers.analysis.cord.morphometry import load_normative
    from workers.results.card_chart import csa_chart

    for result in analysis.results if analysis is not None else []:
        per_level = result.details.get("levels") if result.analyser == "cord_morphometry" else None
        if not per_level or not all(result.verdict(v.series_uid) is None or v.ok for v in result.qc):
            continue
        norms = {k: (v.area_mean, v.area_sd) for k, v in load_normative().items()}
        chart = csa_chart([lv.level for lv in per_level], [lv.csa_mm2 for lv in per_level], norms)
        caption = "Cord area by vertebral level against the normal range"
        return [Tile(np.zeros((1, 1, 3), dtype=np.uint8), caption, key_image=True, chart=chart)]
    return []
