"""Worker heartbeats on a real SQLite registry: who is alive, slow, gone; what the reconciler does with the
job of a gone worker; and that a worker taken for gone cannot report its job afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from node.broker.reconciler import jobs_to_send
from node.broker.workers import (
    GONE_AFTER,
    Heartbeat,
    WorkersCollector,
    format_workers,
    holding,
    is_gone,
    lost_by_worker,
    queue_waiting,
    workers_seen,
)
from node.jobs import store as jobs
from node.registry.db import Registry
from node.registry.models import Job, JobState, Study, StudyState, WorkerHeartbeat, utcnow


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    yield reg
    reg.dispose()


def _seen(registry: Registry, worker: str, ago: float, *, stopped: bool = False) -> None:
    with registry.session() as session:
        at = utcnow() - timedelta(seconds=ago)
        host, _, pid = worker.partition(":")
        session.add(
            WorkerHeartbeat(
                worker=worker, hostname=host, pid=int(pid), queues="analysis,delivery", started_at=at,
                last_seen_at=at, stopped_at=at if stopped else None,
            )
        )  # fmt: skip


def _running_job(registry: Registry, worker: str, uid: str = "1.2.3") -> int:
    with registry.session() as session:
        study = Study(study_uid=uid, state=StudyState.ANALYSING)
        session.add(study)
        session.flush()
        job = Job(
            study_id=study.id, revision=1, state=JobState.RUNNING, worker=worker,
            started_at=utcnow() - timedelta(seconds=40), step="analysers",
        )  # fmt: skip
        session.add(job)
        session.flush()
        return job.id


def test_heartbeat_writes_and_records_a_clean_stop(registry: Registry) -> None:
    with pytest.raises(ValueError, match="worker"):
        Heartbeat(registry, "nohost", "analysis")
    beat = Heartbeat(registry, "hostA:4242", "analysis", every=0.05).start()
    beat.stop()
    with registry.session() as session:
        (seen,) = workers_seen(session)
    assert seen.worker == "hostA:4242" and seen.hostname == "hostA" and seen.status == "stopped"


def test_gone_only_when_another_worker_kept_beating(registry: Registry) -> None:
    silent = GONE_AFTER.total_seconds() + 30
    _seen(registry, "hostA:1", silent)
    with registry.session() as session:
        assert not is_gone(session, "hostA:1"), "nobody else beat: the registry may have been out of reach"
    _seen(registry, "hostB:2", 1)
    with registry.session() as session:
        assert is_gone(session, "hostA:1")
        assert not is_gone(session, "hostB:2")
        assert not is_gone(session, "never-seen:3"), "no heartbeat: left to the pid check and the lease"


def test_a_gone_workers_job_is_queued_again_and_its_late_outcome_discarded(registry: Registry) -> None:
    _seen(registry, "hostA:1", GONE_AFTER.total_seconds() + 30)
    _seen(registry, "hostB:2", 1)
    slow = _running_job(registry, "hostB:2", "1.2.4")
    lost = _running_job(registry, "hostA:1")
    with registry.session() as session:
        session.query(WorkerHeartbeat).filter_by(worker="hostB:2").one().jobs = [slow]
    with registry.session() as session:
        assert jobs_to_send(session) == [lost], "the slow worker keeps its job"
    with registry.session() as session:
        job = session.get(Job, lost)
        assert job is not None and job.state == JobState.QUEUED
        job.state, job.worker = JobState.RUNNING, "hostB:2"  # claimed by the other worker
    jobs.fail_job(registry, lost, "late error from the worker taken for gone")  # this process is not hostB:2
    with registry.session() as session:
        job = session.get(Job, lost)
        assert job is not None and job.state == JobState.RUNNING and job.error is None
        assert session.get(Job, slow).state == JobState.RUNNING  # type: ignore[union-attr]


def test_studies_block_and_metrics_tell_slow_from_gone(registry: Registry) -> None:
    _seen(registry, "hostA:1", GONE_AFTER.total_seconds() + 30)
    _seen(registry, "hostB:2", 1)
    _running_job(registry, "hostB:2", "1.2.4")
    _running_job(registry, "hostA:1")
    with registry.session() as session:
        seen = workers_seen(session)
        waiting = queue_waiting(session)
    assert [(w.worker, w.status, [r.step for r in w.running]) for w in seen] == [
        ("hostB:2", "alive", ["analysers"]),
        ("hostA:1", "gone", ["analysers"]),
    ]
    text = format_workers(seen, waiting)
    assert "alive" in text and "silent for" in text and "will run on another worker" in text
    assert "waiting for any worker: analysis 0, delivery 0" in text
    prom = CollectorRegistry()
    prom.register(WorkersCollector(registry))
    out = generate_latest(prom).decode()
    assert 'spinenode_workers{status="gone"} 1.0' in out
    assert 'spinenode_worker_running_jobs{hostname="hostB",status="alive",worker="hostB:2"} 1.0' in out


def test_a_job_its_live_worker_no_longer_holds_is_queued_again(registry: Registry) -> None:
    """The task ended without an outcome (the registry was out of reach when it tried to record one): the
    worker keeps beating, without the job; the job runs again instead of waiting for the 30-minute lease."""
    _seen(registry, "hostB:2", 1)  # beat 1 s ago, after the job was claimed 40 s ago, naming no job
    dropped = _running_job(registry, "hostB:2")
    held = _running_job(registry, "hostB:2", "1.2.4")
    with registry.session() as session:
        session.query(WorkerHeartbeat).one().jobs = [held]
    with registry.session() as session:
        job = session.get(Job, dropped)
        assert job is not None and lost_by_worker(session, job)
        assert jobs_to_send(session) == [dropped]
    with registry.session() as session:
        assert session.get(Job, held).state == JobState.RUNNING  # type: ignore[union-attr]


def test_heartbeat_names_the_jobs_in_hand(registry: Registry) -> None:
    beat = Heartbeat(registry, "hostA:4242", "analysis", every=3600)
    with holding(17):
        beat.beat()
        with registry.session() as session:
            assert session.query(WorkerHeartbeat).one().jobs == [17]
    beat.beat()
    with registry.session() as session:
        assert session.query(WorkerHeartbeat).one().jobs == []
