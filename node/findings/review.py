"""A radiologist's decision on a coded finding of the latest report (confirm or reject).

A finding that is also a candidate of the findings document (epidural fluid) is settled exactly like a
CSF-leak candidate (:func:`node.findings.workflow.confirm_candidate`), so the criteria count it. Any other finding
(cord compression, a marrow lesion, anterior-horn signal) gets a ``review`` entry ``{"key", "decision"}``;
the next revision reads it (:func:`node.jobs.build_context`) and the report shows the finding confirmed, or
lists it as rejected instead of reporting it. Either way an amended report follows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.findings import workflow as fs
from node.registry.models import EntrySource, FindingEntry, FindingStatus, Study, utcnow
from node.registry.views import latest_result
from workers.results.findings import FindingsReport, ReportedFinding

ACTIONS = {"confirm": "confirmed", "reject": "rejected"}


def latest_report(session: Session, study: Study) -> FindingsReport:
    """The findings of the study's latest SR (empty before the first report)."""
    result = latest_result(session, study)
    summary = (result.summary or {}) if result is not None else {}
    try:
        return FindingsReport.from_json(summary.get("findings"))
    except (KeyError, TypeError, ValueError):  # a report written before findings were stored
        return FindingsReport()


def _finding(session: Session, study: Study, key: str) -> ReportedFinding:
    for finding in latest_report(session, study).findings:
        if finding.key == key:
            return finding
    raise fs.NotFound(f"no finding {key!r} in the latest report of study {study.study_uid}")


def review(session: Session, study: Study, key: str, action: str, author: str | None) -> dict[str, Any]:
    """Confirm or reject finding ``key``; raises NotFound (no such finding) or Conflict (not reviewable)."""
    if action not in ACTIONS:
        raise fs.NotFound(f"unknown action {action!r}: confirm or reject")
    finding = _finding(session, study, key)
    if not finding.reviewable:
        raise fs.Conflict(f"{finding.headline!r} follows from other findings; confirm or reject those instead")
    if not finding.needs_confirmation and action == "confirm":
        raise fs.Conflict(f"{finding.headline!r} is already confirmed")
    if finding.candidate_key is not None:
        for candidate in fs.candidates(session, study):
            if candidate["key"] == finding.candidate_key:
                settle = fs.confirm_candidate if action == "confirm" else fs.reject_candidate
                return settle(session, study, int(candidate["index"]), author)
    fs.check_reanalysable(session, study)
    for old in session.scalars(
        select(FindingEntry).where(
            FindingEntry.study_id == study.id,
            FindingEntry.source == EntrySource.REVIEW,
            FindingEntry.status == FindingStatus.ACTIVE,
        )
    ):
        if old.body.get("key") == key:
            old.status, old.withdrawn_at = FindingStatus.WITHDRAWN, utcnow()
    entry = FindingEntry(
        study_id=study.id,
        source=EntrySource.REVIEW,
        body={"key": key, "decision": ACTIONS[action], "headline": finding.headline},
        author=author,
        revision=study.revision + 1,
    )
    session.add(entry)
    session.flush()
    job_id = fs.reanalyse(session, study, f"finding {ACTIONS[action]}")
    return {"entry": fs.entry_json(entry), "job_id": job_id, "revision": study.revision}
