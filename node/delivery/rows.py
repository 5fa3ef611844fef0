"""Delivery rows: every one is created here; claim one atomically, record an attempt (delivered, retried
later by the backoff policy, or dead past its maximum age), mark the study delivered, give stale claims
back, retry on an operator's request. Sending itself is :mod:`node.delivery.send`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.broker.liveness import current_worker, worker_dead
from node.delivery.policy import next_attempt
from node.registry.db import Registry
from node.registry.models import (
    Attempt,
    Delivery,
    DeliveryKind,
    DeliveryState,
    Result,
    Study,
    StudyState,
    utcnow,
)
from node.settings import Settings

log = logging.getLogger(__name__)

STALE_CLAIM = timedelta(minutes=5)


def create_result_deliveries(
    session: Session, study: Study, revision: int, destinations: list[str], *, kind: DeliveryKind = DeliveryKind.RESULTS
) -> list[Delivery]:
    """One delivery per destination for this revision's results (idempotent); ``kind`` ris for RIS."""
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
        delivery = Delivery.of_results(study.id, revision, name, result_ids, kind=kind)
        session.add(delivery)
        created.append(delivery)
    session.flush()
    return created


def create_report_deliveries(
    session: Session, settings: Settings, study: Study, revision: int, results_to: list[str] | None
) -> list[Delivery]:
    """The deliveries of a revision's report: to ``results_to`` (default: every destination with ``results``
    enabled), DICOM destinations getting the SR and card, RIS endpoints the grades and flags."""
    names = results_to if results_to is not None else [d.name for d in settings.destinations if d.results]
    ris = {r.name for r in settings.ris}
    created = create_result_deliveries(session, study, revision, [n for n in names if n not in ris])
    created += create_result_deliveries(session, study, revision, [n for n in names if n in ris], kind=DeliveryKind.RIS)
    session.flush()
    return created


def create_forward_deliveries(
    session: Session, study_id: int, revision: int, destinations: list[str], paths: list[str]
) -> list[Delivery]:
    """Forward the originals of a study revision to each destination (idempotent per destination)."""
    if not destinations or not paths:
        return []
    created = []
    for name in destinations:
        exists = session.scalar(
            select(Delivery.id).where(
                Delivery.study_id == study_id,
                Delivery.revision == revision,
                Delivery.destination == name,
                Delivery.kind == DeliveryKind.ORIGINALS,
            )
        )
        if exists:
            continue
        delivery = Delivery.of_originals(study_id, revision, name, paths)
        session.add(delivery)
        session.flush()
        created.append(delivery)
    return created


def mark_enqueued(registry: Registry, delivery_ids: list[int]) -> None:
    with registry.session() as session:
        session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids)).values(enqueued_at=utcnow()))


def claim(registry: Registry, delivery_id: int) -> bool:
    """pending -> sending, only for one caller."""
    with registry.session() as session:
        res = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.PENDING)
            .values(state=DeliveryState.SENDING, claimed_at=utcnow(), worker=current_worker())
        )
        return bool(res.rowcount)  # type: ignore[attr-defined]


def record_attempt(
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
                Delivery.kind.in_((DeliveryKind.RESULTS, DeliveryKind.RIS)),
            )
        )
    )
    if states == {DeliveryState.DELIVERED} or not states:
        study.state = StudyState.DELIVERED
        study.delivered_at = utcnow()


def release_stale_claims(session: Session) -> int:
    """A worker that died mid-send leaves a 'sending' row: give it back to 'pending' — at once when its
    process is known to be gone (same host), else after :data:`STALE_CLAIM`."""
    now = utcnow()
    res = session.execute(
        update(Delivery)
        .where(Delivery.state == DeliveryState.SENDING, Delivery.claimed_at < now - STALE_CLAIM)
        .values(state=DeliveryState.PENDING, next_attempt_at=now)
    )
    released = int(res.rowcount)  # type: ignore[attr-defined]
    sending = session.execute(select(Delivery.id, Delivery.worker).where(Delivery.state == DeliveryState.SENDING))
    dead = [delivery_id for delivery_id, worker in sending if worker_dead(worker)]
    if dead:
        log.warning("deliveries %s: their worker is gone; sent again", dead)
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(dead), Delivery.state == DeliveryState.SENDING)
            .values(state=DeliveryState.PENDING, next_attempt_at=now, enqueued_at=None)
        )
    return released + len(dead)


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
    except KeyError:
        return 5.0, 0.0
    return ris.first_retry_seconds, ris.max_age_seconds
