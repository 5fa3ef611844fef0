"""The reconciler, run every second by ``spinenode serve``: whatever the registry says is unfinished is
(re)sent to the broker — queued jobs never sent or lost with a crashed worker, running jobs whose worker is
gone, deliveries due for an attempt, deliveries left 'sending' by a dead worker. Tasks are idempotent, so a
duplicate message is harmless. (Studies become jobs in :mod:`node.stability`; archive indexing and retention
are :mod:`node.archive.housekeeping`.)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from node.broker.liveness import worker_dead
from node.broker.watch import RedisBrokerWatch
from node.broker.workers import lost_by_worker
from node.daemon.loop import PeriodicLoop
from node.delivery.rows import release_stale_claims
from node.registry.db import Registry
from node.registry.models import Delivery, DeliveryState, Job, JobState, utcnow

log = logging.getLogger(__name__)

REQUEUE_AFTER = timedelta(minutes=5)
RUNNING_LEASE = timedelta(minutes=30)


def jobs_to_send(session: Session) -> list[int]:
    now = utcnow()
    ids = list(
        session.scalars(
            select(Job.id).where(
                Job.state == JobState.QUEUED,
                or_(Job.enqueued_at.is_(None), Job.enqueued_at < now - REQUEUE_AFTER),
            )
        )
    )
    for job in session.scalars(select(Job).where(Job.state == JobState.RUNNING)):
        worker = job.worker
        expired = job.started_at is not None and job.started_at < now - RUNNING_LEASE
        if expired or (worker is not None and (worker_dead(worker) or lost_by_worker(session, job, now))):
            if requeue_lost(session, job):
                log.warning("job %d: worker gone or lease expired; queued again", job.id)
                ids.append(job.id)
    return ids


def requeue_lost(session: Session, job: Job) -> bool:
    """running -> queued for the claim that was read (same worker, same attempt), in one conditional UPDATE:
    a job that finished, failed or was claimed again since it was read is left as it is."""
    res = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state == JobState.RUNNING, Job.worker == job.worker, Job.attempts == job.attempts)
        .values(state=JobState.QUEUED)  # the job read in this session says so too (synchronised)
    )
    return bool(res.rowcount)  # type: ignore[attr-defined]


def deliveries_to_send(session: Session) -> list[int]:
    release_stale_claims(session)
    now = utcnow()
    return list(
        session.scalars(
            select(Delivery.id).where(
                Delivery.state == DeliveryState.PENDING,
                Delivery.next_attempt_at <= now,
                or_(
                    Delivery.enqueued_at.is_(None),
                    Delivery.enqueued_at < Delivery.next_attempt_at,
                    Delivery.enqueued_at < now - REQUEUE_AFTER,
                ),
            )
        )
    )


class Reconciler(PeriodicLoop):
    """Runs reconcile passes on a thread until stopped."""

    name = "reconciler"

    def __init__(
        self,
        registry: Registry,
        *,
        send_job: Callable[[int], None],
        send_delivery: Callable[[int], None],
        interval: float = 1.0,
        broker_watch: RedisBrokerWatch | None = None,
    ) -> None:
        self.registry = registry
        self.send_job = send_job
        self.send_delivery = send_delivery
        super().__init__(interval)
        self.broker_watch = broker_watch
        self._jobs_lock = threading.Lock()

    def run_once(self) -> None:
        if self.broker_watch is not None:  # messages the broker lost are marked unsent, then sent below
            try:
                self.broker_watch.run(self.registry)
            except Exception:
                log.exception("broker check failed; will try again")
        with self._jobs_lock:  # a job the stability watch is sending now is not sent twice
            with self.registry.session() as session:
                job_ids = jobs_to_send(session)
                delivery_ids = deliveries_to_send(session)
            self._send(job_ids, Job, self.send_job)
        self._send(delivery_ids, Delivery, self.send_delivery)

    def send_jobs(self, job_ids: list[int]) -> None:
        """Send newly queued jobs to the broker now; one a reconcile pass sent meanwhile is not sent again
        (those that cannot be sent stay for the next pass)."""
        with self._jobs_lock:
            with self.registry.session() as session:
                unsent = list(
                    session.scalars(
                        select(Job.id).where(
                            Job.id.in_(job_ids), Job.state == JobState.QUEUED, Job.enqueued_at.is_(None)
                        )
                    )
                )
            self._send(unsent, Job, self.send_job)

    def _send(self, ids: list[int], model: type[Job | Delivery], send: Callable[[int], None]) -> None:
        sent = []
        for item_id in ids:
            try:
                send(item_id)
            except Exception as exc:  # broker outage: keep it unsent; the next pass tries again
                log.warning(
                    "broker unavailable (%s); %s %d stays unsent", type(exc).__name__, model.__tablename__, item_id
                )
                break
            sent.append(item_id)
        if sent:
            with self.registry.session() as session:
                session.execute(update(model).where(model.id.in_(sent)).values(enqueued_at=utcnow()))
