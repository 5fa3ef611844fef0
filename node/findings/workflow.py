"""Findings entered or settled by a radiologist, stored as :class:`FindingEntry` rows.

Every change queues a re-analysis (:func:`node.jobs.store.request_reanalysis`): the criteria run again on the
active entries and the new SR amends the previous one. The clinical object is one entry with source
``clinical``; a new one replaces (withdraws) the previous. Automated candidate findings are read from the
latest SR result; confirming one stores it as a radiologist finding, rejecting one stores it with status
``rejected`` so that it is neither proposed again nor counted (see :func:`workers.pipeline.candidates.without_settled`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.jobs.store import request_reanalysis, settled_candidate_keys
from node.registry.models import (
    EntrySource,
    FindingEntry,
    FindingStatus,
    Instance,
    Series,
    Study,
    StudyState,
    utcnow,
)
from node.registry.views import iso_time, latest_result
from workers.criteria import FindingsError, parse_findings
from workers.criteria.findings import Problem
from workers.pipeline.candidates import FINDING_KEYS, candidate_key


class NotFound(LookupError):
    """No such study, entry or candidate (the message says which)."""


class Conflict(RuntimeError):
    """The change cannot be made in the current state (the message says why)."""


#: What a radiologist can do with an automated candidate finding.
CANDIDATE_ACTIONS = ("confirm", "reject")
#: How an error found only together with the stored findings begins (the combined document was checked).
WITH_ACTIVE = "with the study's active findings"


def get_study(session: Session, study_uid: str) -> Study:
    study = session.scalar(select(Study).where(Study.study_uid == study_uid))
    if study is None:
        raise NotFound(f"no study {study_uid}")
    return study


def entry_json(entry: FindingEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "status": entry.status,
        "source": entry.source,
        "body": entry.body,
        "revision": entry.revision,
        "created_at": iso_time(entry.created_at),
        "withdrawn_at": iso_time(entry.withdrawn_at),
        "author": entry.author,
    }


def list_entries(session: Session, study: Study) -> list[dict[str, Any]]:
    entries = session.scalars(select(FindingEntry).where(FindingEntry.study_id == study.id).order_by(FindingEntry.id))
    return [entry_json(e) for e in entries]


def _active(session: Session, study: Study) -> list[FindingEntry]:
    return list(
        session.scalars(
            select(FindingEntry)
            .where(FindingEntry.study_id == study.id, FindingEntry.status == FindingStatus.ACTIVE)
            .order_by(FindingEntry.id)
        )
    )


def reanalyse(session: Session, study: Study, reason: str) -> int | None:
    """Queue a new revision unless the study is still being received (its first job will read the entries)."""
    if study.state in (StudyState.RECEIVING, StudyState.STABLE):
        return None
    return request_reanalysis(session, study, reason).id


def check_reanalysable(session: Session, study: Study) -> None:
    if study.state in (StudyState.RECEIVING, StudyState.STABLE):
        return
    if not session.scalar(select(func.count(Instance.id)).join(Series).where(Series.study_id == study.id)):
        raise Conflict(f"study {study.study_uid}: originals no longer retained; cannot re-analyse")


def add_findings(session: Session, study: Study, document: object, author: str | None) -> dict[str, Any]:
    """Validate a findings document (raises :class:`FindingsError` naming the field) and store it."""
    parsed = parse_findings(document)
    assert isinstance(document, dict)
    raw_findings = [dict(f) for f in document.get("findings") or []]
    active = _active(session, study)
    kept = [e.body for e in active if e.source not in (EntrySource.CLINICAL, EntrySource.REVIEW)]
    combined = kept + raw_findings
    try:  # the stored set must stay one valid document (e.g. finding ids unique across entries)
        parse_findings({"findings": combined})
    except FindingsError as exc:
        raise FindingsError(f"{WITH_ACTIVE}: {exc}", exc.problems, exc.document) from None
    check_reanalysable(session, study)
    created: list[FindingEntry] = []
    for raw, finding in zip(raw_findings, parsed.findings, strict=True):
        created.append(FindingEntry(study_id=study.id, source=EntrySource(finding.source), body=raw, author=author))
    if "clinical" in document:
        for old in active:
            if old.source == EntrySource.CLINICAL:
                old.status, old.withdrawn_at = FindingStatus.WITHDRAWN, utcnow()
        created.append(
            FindingEntry(
                study_id=study.id, source=EntrySource.CLINICAL, body=dict(document["clinical"] or {}), author=author
            )
        )
    if not created:
        nothing = Problem(("form",), "empty", "nothing to store: no finding and no clinical details were given")
        raise FindingsError("document: no clinical object and no findings: nothing to store", [nothing])
    for entry in created:
        entry.revision = study.revision + 1
        session.add(entry)
    session.flush()
    job_id = reanalyse(session, study, "findings entered")
    return {"entries": [entry_json(e) for e in created], "job_id": job_id, "revision": study.revision}


def withdraw(session: Session, study: Study, entry_id: int) -> dict[str, Any]:
    entry = session.get(FindingEntry, entry_id)
    if entry is None or entry.study_id != study.id:
        raise NotFound(f"no finding {entry_id} in study {study.study_uid}")
    if entry.status != FindingStatus.ACTIVE:
        raise Conflict(f"finding {entry_id} is {entry.status}, not active")
    check_reanalysable(session, study)
    entry.status, entry.withdrawn_at = FindingStatus.WITHDRAWN, utcnow()
    session.flush()
    job_id = reanalyse(session, study, "finding withdrawn")
    return {"entry": entry_json(entry), "job_id": job_id, "revision": study.revision}


def _body_of(ref: dict[str, Any]) -> dict[str, Any]:
    return {k: ref[k] for k in FINDING_KEYS if ref.get(k) is not None}


def candidates(session: Session, study: Study) -> list[dict[str, Any]]:
    """Automated findings of the latest report that no one has confirmed or rejected yet."""
    result = latest_result(session, study)
    if result is None:
        return []
    summary = result.summary or {}
    full = {candidate_key(c): c for c in summary.get("candidates") or [] if isinstance(c, dict)}
    refs = ((summary.get("criteria") or {}).get("findings")) or []
    settled = settled_candidate_keys(session, study.id)
    out = []
    for ref in refs:
        if not isinstance(ref, dict) or ref.get("source") != "automated":
            continue
        key = candidate_key(ref)
        if key in settled:
            continue
        body = _body_of(full.get(key, ref))
        out.append(
            {
                "index": ref.get("index"),
                "key": key,
                "finding": body,
                "grade": ref.get("grade"),
                "rules": list(ref.get("rules") or []),
                "revision": result.revision,
            }
        )
    return out


def _candidate(session: Session, study: Study, index: int) -> dict[str, Any]:
    for cand in candidates(session, study):
        if cand["index"] == index:
            return cand
    raise NotFound(f"no open candidate finding {index} in study {study.study_uid}")


def confirm_candidate(session: Session, study: Study, index: int, author: str | None) -> dict[str, Any]:
    cand = _candidate(session, study, index)
    check_reanalysable(session, study)
    # the id stays with the automated candidate: the radiologist's finding is a new one of the same content
    body = {k: v for k, v in cand["finding"].items() if k != "id"}
    body["source"] = "radiologist"
    parse_findings({"findings": [body]})
    entry = FindingEntry(
        study_id=study.id, source=EntrySource.RADIOLOGIST, body=body, author=author, revision=study.revision + 1
    )
    session.add(entry)
    session.flush()
    job_id = reanalyse(session, study, "candidate confirmed")
    return {"entry": entry_json(entry), "job_id": job_id, "revision": study.revision}


def reject_candidate(session: Session, study: Study, index: int, author: str | None) -> dict[str, Any]:
    cand = _candidate(session, study, index)
    check_reanalysable(session, study)
    entry = FindingEntry(
        study_id=study.id,
        source=EntrySource.AUTOMATED,
        body=dict(cand["finding"]),
        author=author,
        status=FindingStatus.REJECTED,
        revision=study.revision + 1,
    )
    session.add(entry)
    session.flush()
    job_id = reanalyse(session, study, "candidate rejected")
    return {"entry": entry_json(entry), "job_id": job_id, "revision": study.revision}


def settle_candidate(session: Session, study: Study, index: int, action: str, author: str | None) -> dict[str, Any]:
    """Confirm or reject (``action``, one of :data:`CANDIDATE_ACTIONS`) the open candidate ``index``."""
    if action == "confirm":
        return confirm_candidate(session, study, index, author)
    if action == "reject":
        return reject_candidate(session, study, index, author)
    raise NotFound(f"unknown action {action!r}: confirm or reject")
