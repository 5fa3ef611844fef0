"""Read-only views of the registry for the command line, the API and the worklist."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.registry.models import Delivery, DeliveryState, Instance, Job, Result, ResultKind, Series, Study


def iso_time(value: datetime | None) -> str | None:
    """The registry's one time format for people and JSON: ISO 8601 to the second, or None."""
    return value.isoformat(timespec="seconds") if value is not None else None


def latest_result(session: Session, study: Study, kind: ResultKind = ResultKind.SR) -> Result | None:
    """The study's result of ``kind`` of its latest revision that has one (its latest SR by default)."""
    return session.scalars(
        select(Result).where(Result.study_id == study.id, Result.kind == kind).order_by(Result.revision.desc())
    ).first()


def study_row(session: Session, study: Study, *, with_phi: bool = False) -> dict[str, Any]:
    series_count = session.scalar(select(func.count(Series.id)).where(Series.study_id == study.id)) or 0
    instance_count = (
        session.scalar(select(func.count(Instance.id)).join(Series).where(Series.study_id == study.id)) or 0
    )
    deliveries = session.scalars(select(Delivery).where(Delivery.study_id == study.id).order_by(Delivery.id)).all()
    job = session.scalars(select(Job).where(Job.study_id == study.id).order_by(Job.id.desc())).first()
    report = latest_result(session, study)
    qc = list(((report.summary or {}).get("qc") or []) if report is not None else [])
    row: dict[str, Any] = {
        "study_uid": study.study_uid,
        "state": study.state.value,
        "reason": study.reason,
        "revision": study.revision,
        "priority": str(study.priority),
        "patient_key": study.patient_key,
        "study_date": study.study_date,
        "description": study.study_description,
        "calling_aet": study.calling_aet,
        "series": series_count,
        "instances": instance_count,
        "flags": list(study.flags or []),
        "grades": dict(study.grades or {}),
        "qc": qc,  # the verdict of every analyser output (latest report): only "ok" outputs are graded
        "not_graded": sum(1 for v in qc if v.get("status") != "ok"),
        "received_at": iso_time(study.first_received_at),
        "last_received_at": iso_time(study.last_received_at),
        "reported_at": iso_time(study.reported_at),
        "delivered_at": iso_time(study.delivered_at),
        "job": {"id": job.id, "state": job.state.value, "step": job.step, "error": job.error} if job else None,
        "deliveries": [
            {
                "id": d.id,
                "destination": d.destination,
                "kind": d.kind,
                "revision": d.revision,
                "state": d.state.value,
                "attempts": len(d.attempts),
                "last_error": d.last_error,
                "next_attempt_at": iso_time(d.next_attempt_at) if d.state == DeliveryState.PENDING else None,
            }
            for d in deliveries
        ],
    }
    if with_phi:
        row["patient_name"] = study.patient_name
        row["patient_id"] = study.patient_id
        row["accession_number"] = study.accession_number
    return row


def list_studies(session: Session, *, with_phi: bool = False, limit: int = 500) -> list[dict[str, Any]]:
    studies = session.scalars(select(Study).order_by(Study.first_received_at.desc()).limit(limit)).all()
    return [study_row(session, s, with_phi=with_phi) for s in studies]


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
