"""Delivery rows: create them, claim one atomically, send it, record the attempt.

A store that was refused or failed is never recorded as delivered: the row only becomes
``delivered`` when every object got a success (or warning) status from the destination.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.delivery.policy import next_attempt
from node.dicom.scu import AssociationFailed, send_files
from node.registry.db import Registry
from node.registry.models import Attempt, Delivery, DeliveryState, Result, Study, StudyState, utcnow
from node.settings import DestinationSettings, Settings

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=5)


def create_result_deliveries(
    session: Session, study: Study, revision: int, destinations: list[str], *, kind: str = "results"
) -> list[Delivery]:
    """One delivery per destination for this revision's results (idempotent); ``kind`` "ris" for RIS."""
    created = []
    result_ids = [
        r.id for r in session.scalars(select(Result).where(Result.study_id == study.id, Result.revision == revision))
    ]
    for name in destinations:
        existing = session.scalar(
            select(Delivery).where(
                Delivery.study_id == study.id,
                Delivery.revision == revision,
                Delivery.destination == name,
                Delivery.kind == kind,
            )
        )
        if existing is not None:
            continue
        delivery = Delivery(study_id=study.id, revision=revision, destination=name, kind=kind, payload=result_ids)
        session.add(delivery)
        created.append(delivery)
    session.flush()
    return created


def claim(registry: Registry, delivery_id: int) -> bool:
    """pending -> sending, only for one caller."""
    with registry.session() as session:
        res = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.PENDING)
            .values(state=DeliveryState.SENDING, claimed_at=utcnow())
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]


def _payload_files(session: Session, delivery: Delivery) -> list[Path]:
    if delivery.kind == "originals":
        return [Path(p) for p in delivery.payload]
    results = session.scalars(select(Result).where(Result.id.in_(delivery.payload))).all()
    return [Path(r.path) for r in sorted(results, key=lambda r: r.id)]


def send_to_destination(files: list[Path], dest: DestinationSettings, calling_aet: str) -> tuple[bool, str]:
    try:
        outcomes = send_files(files, dest.ae_title, dest.host, dest.port, calling_aet=calling_aet)
    except (AssociationFailed, OSError) as exc:
        return False, str(exc)[:500]
    failed = [o for o in outcomes if not o.ok]
    if failed:
        parts = [
            f"{o.path.name}: " + (f"status 0x{o.status:04X}" if o.status is not None else o.detail) for o in failed[:5]
        ]
        return False, f"{len(failed)} of {len(outcomes)} refused: " + "; ".join(parts)
    return True, f"{len(outcomes)} stored"


def attempt_delivery(registry: Registry, settings: Settings, delivery_id: int) -> DeliveryState | None:
    """Claim, send and record one attempt. Returns the new state, or None if someone else has it."""
    if not claim(registry, delivery_id):
        return None
    with registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        files = _payload_files(session, delivery)
        destination = delivery.destination
        kind = delivery.kind
        attempt = Attempt(delivery_id=delivery_id)
        session.add(attempt)
        session.flush()
        attempt_id = attempt.id
    if kind == "ris":
        ok, detail = send_to_ris(registry, settings, delivery_id)
        return _record(registry, settings, delivery_id, attempt_id, ok, detail)
    try:
        dest = settings.destination(destination)
    except KeyError:
        ok, detail = False, f"destination {destination!r} is not configured"
    else:
        missing = [f.name for f in files if not f.exists()]
        if missing:
            ok, detail = False, f"result files missing: {missing[:3]}"
        else:
            ok, detail = send_to_destination(files, dest, settings.node.ae_title)
    return _record(registry, settings, delivery_id, attempt_id, ok, detail)


def _record(
    registry: Registry, settings: Settings, delivery_id: int, attempt_id: int, ok: bool, detail: str
) -> DeliveryState:
    now = utcnow()
    with registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        attempt = session.get(Attempt, attempt_id)
        assert delivery is not None and attempt is not None
        attempt.finished_at = now
        attempt.ok = ok
        attempt.detail = detail
        if ok:
            delivery.state = DeliveryState.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = None
            log.info("delivery %d to %s delivered (%s)", delivery.id, delivery.destination, detail)
            mark_study_delivered_if_done(session, delivery.study_id)
        else:
            failures = sum(1 for a in delivery.attempts if a.finished_at is not None and not a.ok)
            first, max_age = _retry_policy(settings, delivery.destination)
            when = next_attempt(
                delivery.created_at, max(failures, 1), now, first_retry_seconds=first, max_age_seconds=max_age
            )
            delivery.last_error = detail
            if when is None:
                delivery.state = DeliveryState.DEAD
                log.error(
                    "delivery %d to %s is dead after %d attempts: %s",
                    delivery.id,
                    delivery.destination,
                    failures,
                    detail,
                )
            else:
                delivery.state = DeliveryState.PENDING
                delivery.next_attempt_at = when
                log.warning(
                    "delivery %d to %s failed (attempt %d), next at %s: %s",
                    delivery.id,
                    delivery.destination,
                    failures,
                    when.isoformat(),
                    detail,
                )
        return delivery.state


def mark_study_delivered_if_done(session: Session, study_id: int) -> None:
    study = session.get(Study, study_id)
    if study is None or study.state != StudyState.REPORTED:
        return
    states = set(
        session.scalars(
            select(Delivery.state).where(
                Delivery.study_id == study_id,
                Delivery.revision == study.revision,
                Delivery.kind.in_(("results", "ris")),
            )
        )
    )
    if states == {DeliveryState.DELIVERED} or not states:
        study.state = StudyState.DELIVERED
        study.delivered_at = utcnow()


def release_stale_claims(session: Session) -> int:
    """A worker that died mid-send leaves a 'sending' row: give it back to 'pending'."""
    res = session.execute(
        update(Delivery)
        .where(Delivery.state == DeliveryState.SENDING, Delivery.claimed_at < utcnow() - STALE_CLAIM)
        .values(state=DeliveryState.PENDING, next_attempt_at=utcnow())
    )
    return int(res.rowcount)  # type: ignore[attr-defined]


def retry_now(session: Session, delivery_id: int) -> bool:
    """Operator's retry: a failed or dead delivery goes back to pending at once (new max-age window)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.state in (DeliveryState.DELIVERED, DeliveryState.SENDING):
        return False
    delivery.state = DeliveryState.PENDING
    delivery.next_attempt_at = utcnow()
    delivery.created_at = utcnow()
    delivery.enqueued_at = None
    return True


def _retry_policy(settings: Settings, name: str) -> tuple[float, float]:
    try:
        dest = settings.destination(name)
        return dest.first_retry_seconds, dest.max_age_seconds
    except KeyError:
        pass
    try:
        ris = settings.ris_endpoint(name)
        return float(getattr(ris, "first_retry_seconds", 5.0)), float(getattr(ris, "max_age_seconds", 86400.0))
    except KeyError:
        return 5.0, 0.0


def send_to_ris(registry: Registry, settings: Settings, delivery_id: int) -> tuple[bool, str]:
    """Send the grades, flags and priority of a delivery's SR to a RIS endpoint (HL7 ORU^R01 or FHIR)."""
    from node.ris.delivery import RisDeliveryError, send_report

    with registry.session() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        try:
            endpoint = settings.ris_endpoint(delivery.destination)
        except KeyError:
            return False, f"ris endpoint {delivery.destination!r} is not configured"
        summary = summary_from_registry(session, delivery)
    try:
        return True, send_report(endpoint, summary)
    except RisDeliveryError as exc:
        return False, str(exc)[:500]


def summary_from_registry(session: Session, delivery: Delivery) -> Any:
    """The RIS :class:`~node.ris.summary.ReportSummary` of a delivery's study revision (no patient name)."""
    from datetime import datetime as _dt

    from node.ris.summary import GRADES, ReportSummary
    from node.routing.rules import Priority

    study = session.get(Study, delivery.study_id)
    assert study is not None
    sr = session.scalar(
        select(Result).where(Result.study_id == study.id, Result.revision == delivery.revision, Result.kind == "SR")
    )
    try:
        study_date = _dt.strptime(study.study_date or "", "%Y%m%d").date()
    except ValueError:
        study_date = None
    return ReportSummary(
        study_instance_uid=study.study_uid,
        accession_number=(study.accession_number or "")[:16],
        patient_key=study.patient_key or "unknown",
        study_date=study_date,
        grades={k: v for k, v in (study.grades or {}).items() if isinstance(v, str) and v in GRADES},
        flags=[f for f in (study.flags or []) if isinstance(f, str) and f],
        priority=Priority(study.priority),
        sr_sop_instance_uid=sr.sop_instance_uid if sr else "",
        amended=bool(sr and sr.predecessor_uid),
        patient_id=study.patient_id or "",
        patient_name=study.patient_name or "",
    )
