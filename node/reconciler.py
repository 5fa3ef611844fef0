"""The node's two background duties, run every second by ``spinenode serve``.

1. Stability: a study in ``receiving`` becomes ``stable`` after ``stable_seconds`` with no new
   instance, no association still sending it and nothing waiting to be recorded; it then gets a job
   for its current revision and becomes ``queued``.
2. Reconcile: whatever the registry says is unfinished is (re)sent to the broker — queued jobs never
   sent or lost with a crashed worker, running jobs whose worker is gone, deliveries due for an attempt,
   deliveries left 'sending' by a dead worker. Tasks are idempotent, so a duplicate message is harmless.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from node.broker_watch import RedisBrokerWatch
from node.delivery.service import release_stale_claims
from node.registry.db import Registry
from node.registry.models import Delivery, DeliveryState, Job, JobState, Study, StudyState, utcnow
from node.workers_seen import lost_by_worker

log = logging.getLogger(__name__)

REQUEUE_AFTER = timedelta(minutes=5)
RUNNING_LEASE = timedelta(minutes=30)
CLEANUP_EVERY = 3600.0


def mark_stable(session: Session, stable_seconds: float, busy: set[str]) -> list[int]:
    """receiving -> stable -> queued (with a job). Returns the new job IDs."""
    cutoff = utcnow() - timedelta(seconds=stable_seconds)
    job_ids = []
    for study in session.scalars(
        select(Study).where(Study.state == StudyState.RECEIVING, Study.last_received_at <= cutoff)
    ):
        if study.study_uid in busy:
            continue
        study.state = StudyState.STABLE
        study.stable_at = utcnow()
        job = session.scalar(select(Job).where(Job.study_id == study.id, Job.revision == study.revision))
        if job is None:
            job = Job(study_id=study.id, revision=study.revision, state=JobState.QUEUED)
            session.add(job)
        elif job.state in (JobState.DONE, JobState.FAILED, JobState.SUPERSEDED):
            job.state = JobState.QUEUED
            job.enqueued_at = None
        session.flush()
        study.state = StudyState.QUEUED
        job_ids.append(job.id)
        log.info("study %d stable (revision %d): job %d queued", study.id, study.revision, job.id)
    return job_ids


def _pid_alive(worker: str | None) -> bool:
    if not worker or ":" not in worker:
        return True
    host, _, pid = worker.partition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another host: rely on the lease
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        if expired or (worker is not None and (not _pid_alive(worker) or lost_by_worker(session, job, now))):
            log.warning("job %d: worker gone or lease expired; queued again", job.id)
            job.state = JobState.QUEUED
            ids.append(job.id)
    return ids


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


class Reconciler:
    """Runs stability and reconcile passes on a thread until stopped."""

    def __init__(
        self,
        registry: Registry,
        *,
        stable_seconds: float,
        busy_studies: Callable[[], set[str]],
        recorder_idle: Callable[[], bool],
        send_job: Callable[[int], None],
        send_delivery: Callable[[int], None],
        interval: float = 1.0,
        retention_days: float = 0.0,
        broker_watch: RedisBrokerWatch | None = None,
    ) -> None:
        self.registry = registry
        self.stable_seconds = stable_seconds
        self.busy_studies = busy_studies
        self.recorder_idle = recorder_idle
        self.send_job = send_job
        self.send_delivery = send_delivery
        self.interval = interval
        self.retention_days = retention_days
        self.broker_watch = broker_watch
        self._last_cleanup = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reconciler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:
                log.exception("reconcile pass failed; will try again")

    def run_once(self) -> None:
        if self.broker_watch is not None:  # messages the broker lost are marked unsent, then sent below
            try:
                self.broker_watch.run(self.registry)
            except Exception:
                log.exception("broker check failed; will try again")
        with self.registry.session() as session:
            if self.recorder_idle():
                mark_stable(session, self.stable_seconds, self.busy_studies())
            job_ids = jobs_to_send(session)
            delivery_ids = deliveries_to_send(session)
        self._send(job_ids, Job, self.send_job)
        self._send(delivery_ids, Delivery, self.send_delivery)
        self._housekeeping()

    def _housekeeping(self) -> None:
        """Hourly: index new SRs in the archive; delete originals past retention (only once delivered)."""
        now = time.monotonic()
        if now - self._last_cleanup < CLEANUP_EVERY and self._last_cleanup:
            return
        self._last_cleanup = now
        from node.archive import index_new_results
        from node.archive.retention import cleanup_originals

        with self.registry.session() as session:
            index_new_results(session)
        if self.retention_days:
            with self.registry.session() as session:
                report = cleanup_originals(session, self.retention_days)
            log.info("retention: %s", report)

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
