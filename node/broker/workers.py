"""Which workers the registry has seen recently, what each is running, and whether it is still there.

Every worker process (``spinenode worker``, and the worker inside ``serve``) writes a heartbeat row every
``HEARTBEAT_EVERY`` seconds. That is how an operator tells a slow worker (it keeps beating; its job's step
and age show what it is doing) from a dead or cut-off one (silent), and how the reconciler knows that a job
``running`` on another host has lost its worker: silent for ``GONE_AFTER`` while another worker kept
beating (so it is that worker that went away, not the registry that was out of reach for everyone).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from node.registry import listing
from node.registry.db import Registry
from node.registry.listing import GONE_AFTER, SHOWN_FOR, RunningJob, WorkerSeen, format_workers
from node.registry.models import Job, WorkerHeartbeat, utcnow
from node.registry.views import driver_connection

__all__ = [
    "GONE_AFTER",
    "SHOWN_FOR",
    "Heartbeat",
    "RunningJob",
    "WorkerSeen",
    "WorkersCollector",
    "format_workers",
    "holding",
    "in_hand",
    "is_gone",
    "lost_by_worker",
    "queue_waiting",
    "workers_seen",
]

if TYPE_CHECKING:
    from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

HEARTBEAT_EVERY = 5.0


_in_hand: set[int] = set()
_in_hand_lock = threading.Lock()


@contextmanager
def holding(job_id: int) -> Iterator[None]:
    """Mark ``job_id`` as in this process's hands while the block runs; heartbeats list it. Enter before the
    claim, so that every heartbeat written after the claim names the job while this worker still runs it."""
    with _in_hand_lock:
        _in_hand.add(job_id)
    try:
        yield
    finally:
        with _in_hand_lock:
            _in_hand.discard(job_id)


def in_hand() -> list[int]:
    with _in_hand_lock:
        return sorted(_in_hand)


class Heartbeat:
    """Writes this worker's heartbeat row on a thread until stopped (a clean stop is recorded too)."""

    def __init__(self, registry: Registry, worker: str, queues: str, every: float = HEARTBEAT_EVERY) -> None:
        if not worker or ":" not in worker:
            raise ValueError(f"worker: {worker!r} must be host:pid")
        self.registry = registry
        self.worker = worker
        self.queues = queues
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def beat(self, *, stopped: bool = False) -> None:
        now = utcnow()  # before the jobs are read: a job claimed after this moment is not judged by it
        jobs = in_hand()
        with self.registry.session() as session:
            row = session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.worker == self.worker))
            if row is None:
                host, _, pid = self.worker.rpartition(":")
                row = WorkerHeartbeat(
                    worker=self.worker, hostname=host, pid=int(pid) if pid.isdigit() else 0, queues=self.queues
                )
                session.add(row)
            row.last_seen_at = now
            row.jobs = jobs
            row.queues = self.queues
            row.stopped_at = now if stopped else None

    def _run(self) -> None:
        while True:
            try:
                self.beat()
            except Exception as exc:  # registry out of reach: the next beat tries again
                log.warning("heartbeat not written (%s)", type(exc).__name__)
            if self._stop.wait(self.every):
                return

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        try:
            self.beat(stopped=True)
        except Exception:
            log.warning("could not record this worker's stop", exc_info=True)


def workers_seen(session: Session, now: datetime | None = None) -> list[WorkerSeen]:
    """Workers seen within ``SHOWN_FOR``, most recently seen first, with the jobs each is running."""
    return listing.workers_seen(driver_connection(session), now or utcnow())


def is_gone(session: Session, worker: str | None, now: datetime | None = None) -> bool:
    """True when ``worker`` stopped, or has been silent for ``GONE_AFTER`` while another worker kept beating.
    A worker that never wrote a heartbeat is not judged here (False)."""
    if not worker:
        return False
    now = now or utcnow()
    row = session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.worker == worker))
    if row is None:
        return False
    if row.stopped_at is not None:
        return True
    if now - row.last_seen_at <= GONE_AFTER:
        return False
    newest = session.scalar(select(func.max(WorkerHeartbeat.last_seen_at)).where(WorkerHeartbeat.worker != worker))
    return newest is not None and newest - row.last_seen_at > GONE_AFTER and now - newest <= GONE_AFTER


def lost_by_worker(session: Session, job: Job, now: datetime | None = None) -> bool:
    """True when the running ``job`` has no worker running it any more: its worker is gone (above), or
    its worker beat after claiming the job without naming it (the task ended without recording an outcome,
    e.g. the registry was out of reach at that moment)."""
    if is_gone(session, job.worker, now):
        return True
    row = session.scalar(select(WorkerHeartbeat).where(WorkerHeartbeat.worker == job.worker))
    if row is None or row.stopped_at is not None or job.started_at is None:
        return False
    return row.last_seen_at > job.started_at and job.id not in (row.jobs or [])


def queue_waiting(session: Session) -> dict[str, int]:
    """Work the registry says waits for any worker, by queue: queued jobs and due pending deliveries."""
    return listing.queue_waiting(driver_connection(session), utcnow())


class WorkersCollector:
    """Prometheus collector, read at scrape time: ``spinenode_worker_last_seen_seconds`` and
    ``spinenode_worker_running_jobs`` per worker (labels: worker, hostname, status), ``spinenode_workers``
    by status. Labels carry host names and process IDs only. (A collector is any object with ``collect``
    and ``describe``: prometheus_client is imported at the first scrape, not by ``spinenode studies``.)"""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from prometheus_client.core import GaugeMetricFamily

        with self.registry.session() as session:
            seen = workers_seen(session)
        labels = ["worker", "hostname", "status"]
        last = GaugeMetricFamily(
            "spinenode_worker_last_seen_seconds", "Seconds since a worker's last heartbeat", labels=labels
        )
        running = GaugeMetricFamily("spinenode_worker_running_jobs", "Jobs a worker is running", labels=labels)
        counts = GaugeMetricFamily("spinenode_workers", "Workers seen in the last 24 h, by status", labels=["status"])
        by_status = {"alive": 0, "gone": 0, "stopped": 0}
        for w in seen:
            values = [w.worker, w.hostname, w.status]
            last.add_metric(values, w.silent_seconds)
            running.add_metric(values, len(w.running))
            by_status[w.status] += 1
        for status, n in by_status.items():
            counts.add_metric([status], n)
        yield from (last, running, counts)

    def describe(self) -> list[GaugeMetricFamily]:
        return []
