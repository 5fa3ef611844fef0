"""Read-only views of the registry for the command line, the API and the worklist."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.registry import listing
from node.registry.listing import iso_time
from node.registry.models import Result, ResultKind, Study

__all__ = ["driver_connection", "iso_time", "latest_result", "list_studies", "results_of", "study_row"]


def latest_result(session: Session, study: Study, kind: ResultKind = ResultKind.SR) -> Result | None:
    """The study's result of ``kind`` of its latest revision that has one (its latest SR by default)."""
    return session.scalars(
        select(Result).where(Result.study_id == study.id, Result.kind == kind).order_by(Result.revision.desc())
    ).first()


def driver_connection(session: Session) -> Any:
    """The DB-API connection under ``session``'s transaction, with its pending changes written, for the
    plain-SQL readers of :mod:`node.registry.listing`."""
    session.flush()
    return session.connection().connection.driver_connection


def study_row(session: Session, study: Study, *, with_phi: bool = False) -> dict[str, Any]:
    (row,) = listing.study_rows(driver_connection(session), "WHERE id = ?", (study.id,), with_phi=with_phi)
    return row


def list_studies(session: Session, *, with_phi: bool = False, limit: int = 500) -> list[dict[str, Any]]:
    return listing.list_studies(driver_connection(session), with_phi=with_phi, limit=limit)


def results_of(session: Session, study: Study) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "revision": r.revision,
            "sop_instance_uid": r.sop_instance_uid,
            "series_uid": r.series_uid,
            "path": r.path,
            "predecessor_uid": r.predecessor_uid,
            "created_at": iso_time(r.created_at),
            "qc": list((r.summary or {}).get("qc") or []),
        }
        for r in session.scalars(select(Result).where(Result.study_id == study.id).order_by(Result.id))
    ]
