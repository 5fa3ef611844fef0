"""What the broker watch decides from the registry and the broker's contents (the Redis side is read by
the integration test with a real Redis; here the contents are given, the registry is a real SQLite one)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from node.broker.watch import DELIVERY_TASK, JOB_TASK, BrokerContents, Held, resend_missing, stale_held, task_of
from node.registry.db import Registry
from node.registry.models import Delivery, DeliveryState, Job, JobState, Study, utcnow


def _message(task: str, item_id: int) -> str:
    body = base64.b64encode(json.dumps([[item_id], {}, {}]).encode()).decode()
    return json.dumps({"body": body, "headers": {"task": task}, "properties": {"body_encoding": "base64"}})


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    yield reg
    reg.dispose()


def test_task_of_reads_celery_messages_and_ignores_others() -> None:
    assert task_of(_message(JOB_TASK, 7)) == (JOB_TASK, 7)
    assert task_of(_message(DELIVERY_TASK, 3)) == (DELIVERY_TASK, 3)
    assert task_of(_message("celery.ping", 1)) is None
    assert task_of(b"not json") is None


def _jobs(registry: Registry) -> list[int]:
    sent = utcnow() - timedelta(seconds=30)
    with registry.session() as session:
        ids = []
        for n, state in enumerate((JobState.QUEUED, JobState.QUEUED, JobState.RUNNING, JobState.DONE)):
            study = Study(study_uid=f"1.2.{n}")
            session.add(study)
            session.flush()
            job = Job(study_id=study.id, revision=1, state=state, enqueued_at=sent)
            session.add(job)
            session.flush()
            ids.append(job.id)
        session.add(Delivery(study_id=ids[0], revision=1, destination="pacs", next_attempt_at=sent, enqueued_at=sent))
    return ids


def test_queued_work_without_a_message_is_marked_unsent(registry: Registry) -> None:
    held, lost, running, done = _jobs(registry)
    contents = BrokerContents(held_jobs={held: [Held("t1", 0.0)]})
    with registry.session() as session:
        assert resend_missing(session, contents) == (1, 1)
    with registry.session() as session:
        assert session.get(Job, lost).enqueued_at is None  # type: ignore[union-attr]
        assert session.get(Job, held).enqueued_at is not None  # type: ignore[union-attr]
        assert session.get(Job, running).state == JobState.RUNNING  # type: ignore[union-attr]
        delivery = session.query(Delivery).one()
        assert delivery.enqueued_at is None and delivery.state == DeliveryState.PENDING
    with registry.session() as session:  # nothing left to mark
        assert resend_missing(session, contents) == (0, 0)


def test_stale_unacknowledged_entries_are_those_nobody_needs(registry: Registry) -> None:
    queued, _, running, done = _jobs(registry)
    now = 1000.0
    contents = BrokerContents(
        waiting_jobs={queued},
        held_jobs={
            queued: [Held("old-of-requeued", 10.0)],  # the job was sent again: a newer message waits
            running: [Held("dead-worker", 10.0), Held("live-worker", 500.0)],
            done: [Held("finished", 10.0), Held("finished-just-now", now - 1)],
        },
    )
    with registry.session() as session:
        assert sorted(stale_held(session, contents, now)) == ["dead-worker", "finished", "old-of-requeued"]


def test_visibility_timeout_fits_the_longest_job() -> None:
    from node.broker.reconciler import RUNNING_LEASE
    from workers.celery_app import REDIS_TRANSPORT_OPTIONS, VISIBILITY_TIMEOUT

    assert VISIBILITY_TIMEOUT > RUNNING_LEASE.total_seconds(), "a running job is never handed out again"
    assert REDIS_TRANSPORT_OPTIONS["visibility_timeout"] == VISIBILITY_TIMEOUT
    assert REDIS_TRANSPORT_OPTIONS["socket_timeout"] < 60, "a cut link fails a send within seconds"
