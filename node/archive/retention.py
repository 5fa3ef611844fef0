"""Retention of received originals: delete them ``retention_days`` after the study was last received,
never before every result of the study has been delivered.

:func:`may_delete_originals` is the pure decision; :func:`cleanup_originals` applies it to the registry
(deletes the spool files and their ``Instance`` rows, keeps the study, its series inventory, its results
and the archive). Run it periodically (e.g. hourly) with the ``node.retention_days`` setting; 0 keeps
originals forever.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from node.registry.models import Delivery, DeliveryState, Instance, Series, Study, StudyState, utcnow

log = logging.getLogger(__name__)


def may_delete_originals(
    *,
    retention_days: float,
    last_received_at: datetime,
    now: datetime,
    study_state: str,
    delivery_states: Iterable[str],
) -> bool:
    """True when a study's originals may go: retention is on, it is old enough, and everything it had to
    send (results and routed originals, every revision) was delivered. A pending, sending or dead
    delivery keeps them; so does any study state other than ``delivered``."""
    if retention_days < 0:
        raise ValueError(f"retention_days: must not be negative, got {retention_days!r}")
    if retention_days == 0 or study_state != StudyState.DELIVERED.value:
        return False
    if any(state != DeliveryState.DELIVERED.value for state in delivery_states):
        return False
    return last_received_at + timedelta(days=retention_days) <= now


@dataclass(frozen=True)
class CleanupReport:
    studies: int
    files: int
    bytes: int


def cleanup_originals(session: Session, retention_days: float, now: datetime | None = None) -> CleanupReport:
    """Delete the originals of every study :func:`may_delete_originals` allows. Idempotent."""
    if retention_days == 0:
        return CleanupReport(0, 0, 0)
    now = now or utcnow()
    cutoff = now - timedelta(days=retention_days)
    studies = files = size = 0
    candidates = session.scalars(
        select(Study).where(Study.state == StudyState.DELIVERED, Study.last_received_at <= cutoff)
    ).all()
    for study in candidates:
        states = [s.value for s in session.scalars(select(Delivery.state).where(Delivery.study_id == study.id))]
        if not may_delete_originals(
            retention_days=retention_days,
            last_received_at=study.last_received_at,
            now=now,
            study_state=study.state.value,
            delivery_states=states,
        ):
            continue
        instances = session.scalars(select(Instance).join(Series).where(Series.study_id == study.id)).all()
        if not instances:
            continue
        for instance in instances:
            path = Path(instance.path)
            try:
                size += path.stat().st_size
                path.unlink()
                files += 1
            except FileNotFoundError:
                pass
            _remove_empty_parents(path)
        session.execute(delete(Instance).where(Instance.id.in_([i.id for i in instances])))
        studies += 1
        log.info("retention: study %d originals deleted (%d instances)", study.id, len(instances))
    session.flush()
    return CleanupReport(studies, files, size)


def _remove_empty_parents(path: Path, levels: int = 2) -> None:
    parent = path.parent
    for _ in range(levels):
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent
