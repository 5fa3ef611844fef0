"""Keep the registry and a Redis broker in step, so a broker outage costs seconds, not minutes.

The registry says which jobs are ``queued`` and which deliveries are ``pending``, and when each was last sent
(``enqueued_at``). A Redis that keeps nothing on disk forgets every message when it restarts, and the
registry cannot know that by itself. The watch looks at the broker (the messages waiting in each queue and
the ones a worker holds unacknowledged) and sends again, on the reconciler's next pass, every job and
delivery that the registry says was sent but for which the broker holds no message. It does that at once
when the broker comes back after an outage or after it restarted (its ``run_id`` changed), and every
``AUDIT_EVERY`` seconds otherwise.

A message sent twice is harmless: a job is run only by the worker whose claim turned it from ``queued`` to
``running`` (one conditional UPDATE), a delivery likewise from ``pending`` to ``sending``.

The same look also tidies the broker's unacknowledged set: a worker that was killed leaves its message
there until the visibility timeout; once the registry says that job or delivery is finished, or a newer
message for it exists (the reconciler sent it again), the stale entry is dropped instead of being put back
in the queue later.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.registry.db import Registry
from node.registry.models import Delivery, DeliveryState, Job, JobState, utcnow

log = logging.getLogger(__name__)

AUDIT_EVERY = 5.0
"""Seconds between two looks at the broker while nothing else suggests a loss."""
SENT_GRACE = timedelta(seconds=3)
"""A message sent this recently may still be on its way; it is not judged missing yet."""
HOT_SECONDS = 10.0
"""After the broker came back or restarted, look on every pass for this long (a message sent just before may
still be within ``SENT_GRACE``)."""
STALE_UNACKED_AFTER = 10.0
"""Seconds an unacknowledged entry is left alone before it may be judged stale."""

JOB_TASK = "workers.tasks.analyse_study"
DELIVERY_TASK = "node.delivery.tasks.deliver"
QUEUES = ("analysis", "delivery")
UNACKED = "unacked"
UNACKED_INDEX = "unacked_index"

FINISHED_JOB = (JobState.DONE, JobState.FAILED, JobState.SUPERSEDED)
FINISHED_DELIVERY = (DeliveryState.DELIVERED, DeliveryState.DEAD)


@dataclass(frozen=True)
class Held:
    """One unacknowledged message: its delivery tag and when a worker took it (epoch seconds)."""

    tag: str
    since: float


@dataclass
class BrokerContents:
    """What the broker holds for the node's tasks, by registry ID."""

    waiting_jobs: set[int] = field(default_factory=set)
    waiting_deliveries: set[int] = field(default_factory=set)
    held_jobs: dict[int, list[Held]] = field(default_factory=dict)
    held_deliveries: dict[int, list[Held]] = field(default_factory=dict)

    def jobs(self) -> set[int]:
        return self.waiting_jobs | set(self.held_jobs)

    def deliveries(self) -> set[int]:
        return self.waiting_deliveries | set(self.held_deliveries)


def task_of(raw: bytes | str) -> tuple[str, int] | None:
    """(task name, registry ID) of a kombu/Celery message as Redis stores it; None for anything else."""
    try:
        message = json.loads(raw)
        name = message["headers"]["task"]
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        item_id = int(args[0])
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return (name, item_id) if name in (JOB_TASK, DELIVERY_TASK) else None


def read_contents(client: redis.Redis, queues: tuple[str, ...] = QUEUES) -> BrokerContents:
    contents = BrokerContents()
    for queue in queues:
        for raw in client.lrange(queue, 0, -1):
            task = task_of(raw)
            if task is not None:
                (contents.waiting_jobs if task[0] == JOB_TASK else contents.waiting_deliveries).add(task[1])
    scored: list[tuple[bytes, float]] = client.zrange(UNACKED_INDEX, 0, -1, withscores=True)  # type: ignore[assignment]
    since = {tag.decode(): float(score) for tag, score in scored}
    for tag, raw in client.hgetall(UNACKED).items():
        try:
            message = json.loads(raw)[0]
        except (ValueError, IndexError, TypeError):
            continue
        task = task_of(json.dumps(message))
        if task is None:
            continue
        key = tag.decode() if isinstance(tag, bytes) else str(tag)
        held = contents.held_jobs if task[0] == JOB_TASK else contents.held_deliveries
        held.setdefault(task[1], []).append(Held(key, since.get(key, 0.0)))
    return contents


def resend_missing(session: Session, contents: BrokerContents, now: datetime | None = None) -> tuple[int, int]:
    """Mark unsent every queued job and due pending delivery that was sent but has no message in the broker.
    The reconciler's next pass sends them. Returns (jobs, deliveries) marked."""
    now = now or utcnow()
    cutoff = now - SENT_GRACE
    jobs = session.execute(
        select(Job.id, Job.enqueued_at).where(
            Job.state == JobState.QUEUED, Job.enqueued_at.is_not(None), Job.enqueued_at < cutoff
        )
    ).all()
    lost_jobs = [(i, at) for i, at in jobs if i not in contents.jobs()]
    for job_id, enqueued_at in lost_jobs:  # only if nothing changed since it was read
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED, Job.enqueued_at == enqueued_at)
            .values(enqueued_at=None)
        )
    deliveries = session.execute(
        select(Delivery.id, Delivery.enqueued_at).where(
            Delivery.state == DeliveryState.PENDING,
            Delivery.enqueued_at.is_not(None),
            Delivery.enqueued_at >= Delivery.next_attempt_at,
            Delivery.enqueued_at < cutoff,
        )
    ).all()
    lost_deliveries = [(i, at) for i, at in deliveries if i not in contents.deliveries()]
    for delivery_id, enqueued_at in lost_deliveries:
        session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.state == DeliveryState.PENDING,
                Delivery.enqueued_at == enqueued_at,
            )
            .values(enqueued_at=None)
        )
    return len(lost_jobs), len(lost_deliveries)


def stale_held(session: Session, contents: BrokerContents, now_epoch: float) -> list[str]:
    """Delivery tags of unacknowledged messages nobody needs: the registry says the job or delivery is
    finished, or a newer message for it exists (waiting, or taken later by another worker)."""
    old = now_epoch - STALE_UNACKED_AFTER
    stale: list[str] = []
    for model, held, waiting, finished in (
        (Job, contents.held_jobs, contents.waiting_jobs, FINISHED_JOB),
        (Delivery, contents.held_deliveries, contents.waiting_deliveries, FINISHED_DELIVERY),
    ):
        if not held:
            continue
        rows = session.execute(select(model.id, model.state).where(model.id.in_(list(held)))).all()
        states: dict[int, Any] = {row[0]: row[1] for row in rows}
        for item_id, entries in held.items():
            entries = sorted(entries, key=lambda h: h.since)
            done = item_id not in states or states[item_id] in finished
            keep_newest = not done and item_id not in waiting
            candidates = entries[:-1] if keep_newest else entries
            stale += [h.tag for h in candidates if h.since < old]
    return stale


class RedisBrokerWatch:
    """Run :meth:`run` from the reconciler's loop; it decides itself when to look at the broker."""

    def __init__(self, url: str, *, audit_every: float = AUDIT_EVERY) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=2)
        self.audit_every = audit_every
        self.run_id: str | None = None
        self.down_since: float | None = None
        self._next_audit = 0.0
        self._hot_until = 0.0

    def _look_now(self) -> None:
        self._next_audit = 0.0
        self._hot_until = time.monotonic() + HOT_SECONDS

    def _reachable(self) -> bool:
        try:
            run_id = str(self.client.info("server").get("run_id", ""))
        except (redis.RedisError, OSError) as exc:
            if self.down_since is None:
                self.down_since = time.monotonic()
                log.warning("broker unreachable (%s); queued work waits in the registry", type(exc).__name__)
            return False
        if self.down_since is not None:
            log.warning("broker reachable again after %.1f s", time.monotonic() - self.down_since)
            self.down_since = None
            self._look_now()
        if self.run_id is not None and run_id != self.run_id:
            log.warning("broker restarted (new run id): checking which sent messages it still holds")
            self._look_now()
        self.run_id = run_id
        return True

    def run(self, registry: Registry) -> tuple[int, int] | None:
        """One look if due: mark for sending again what the broker lost; drop stale unacknowledged entries.
        Returns (jobs, deliveries) marked, or None when it did not look."""
        now = time.monotonic()
        if not self._reachable() or (now < self._next_audit and now >= self._hot_until):
            return None
        self._next_audit = now + self.audit_every
        try:
            contents = read_contents(self.client)
        except (redis.RedisError, OSError):  # e.g. still loading after a restart: look again next pass
            self._look_now()
            return None
        with registry.session() as session:
            jobs, deliveries = resend_missing(session, contents)
            stale = stale_held(session, contents, time.time())
        if jobs or deliveries:
            log.warning(
                "broker holds no message for %d queued job(s) and %d pending delivery(ies); sending them again",
                jobs,
                deliveries,
            )
        if stale:
            try:
                with self.client.pipeline() as pipe:
                    pipe.hdel(UNACKED, *stale)
                    pipe.zrem(UNACKED_INDEX, *stale)
                    pipe.execute()
            except (redis.RedisError, OSError):
                return jobs, deliveries
            log.info("dropped %d unacknowledged message(s) of finished or re-sent work", len(stale))
        return jobs, deliveries


def broker_watch_for(broker_url: str) -> RedisBrokerWatch | None:
    """A watch for a Redis broker; None for the embedded broker (its messages are files that survive)."""
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBrokerWatch(broker_url)
    return None
