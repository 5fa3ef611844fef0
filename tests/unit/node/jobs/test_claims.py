"""A job runs for one claim at a time, on SQLite and on PostgreSQL: the claim is one conditional UPDATE, and
every later write of a run is fenced by its claim (worker and attempt), so a run taken for lost — even by
another thread of the same worker process, which has the same worker ID — stops and records nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import registry_on

from node.broker.liveness import current_worker
from node.broker.reconciler import requeue_lost
from node.jobs import store
from node.registry.db import Registry
from node.registry.models import Job, JobState, Study, StudyState
from node.routing.rules import Priority


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    with registry_on(request.param, tmp_path, skip_if_absent=True) as reg:
        yield reg


def _queued_job(registry: Registry) -> int:
    with registry.session() as session:
        study = Study(study_uid=f"1.2.3.{uuid.uuid4().int % 10**8}", state=StudyState.QUEUED)
        session.add(study)
        session.flush()
        job = Job(study_id=study.id, revision=study.revision, state=JobState.QUEUED)
        session.add(job)
        session.flush()
        return job.id


def _in_thread(fn: object, *args: object) -> object:
    """Run ``fn(*args)`` on a thread of its own (a pool thread of the worker) and return what it returned."""
    out: list[object] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            out.append(fn(*args))  # type: ignore[operator]
        except BaseException as exc:  # handed to the test
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    return out[0]


def _requeue(registry: Registry, job_id: int) -> bool:
    """What the reconciler does to a job whose worker it takes for gone."""
    with registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return requeue_lost(session, job)


def _job(registry: Registry, job_id: int) -> Job:
    with registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def test_claimed_by_exactly_one_of_many_at_once(registry: Registry) -> None:
    job_id = _queued_job(registry)
    start = threading.Barrier(6)
    won: list[bool] = []

    def claim() -> None:
        start.wait()
        won.append(store.claim_job(registry, job_id))

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(won) == [False] * 5 + [True]
    assert _job(registry, job_id).attempts == 1


def test_a_run_taken_over_by_another_thread_of_the_same_worker_records_nothing(registry: Registry) -> None:
    job_id = _queued_job(registry)
    claims: dict[str, threading.Event] = {"old": threading.Event(), "resume": threading.Event()}
    old_outcome: list[object] = []

    def old() -> None:  # the run taken for lost: its thread claims, then goes quiet for a while
        assert store.claim_job(registry, job_id)
        claims["old"].set()
        claims["resume"].wait(60)
        try:
            store.set_step(registry, job_id, "analysers")
        except store.JobTakenOver as exc:
            old_outcome.append(exc)
        store.fail_job(registry, job_id, "late error of the run taken for lost")
        store.finish_without_report(registry, job_id, Priority.ROUTINE, "late outcome of the run taken for lost")

    thread = threading.Thread(target=old)
    thread.start()
    assert claims["old"].wait(60)
    assert _requeue(registry, job_id)
    assert _in_thread(store.claim_job, registry, job_id) is True  # the same worker (host:pid), a second claim
    claims["resume"].set()
    thread.join(60)
    assert len(old_outcome) == 1 and isinstance(old_outcome[0], store.JobTakenOver)
    job = _job(registry, job_id)
    assert (job.state, job.attempts, job.error, job.worker) == (JobState.RUNNING, 2, None, current_worker())
    _in_thread(store.finish_without_report, registry, job_id, "routine", "a thread that claimed nothing")
    assert _job(registry, job_id).state == JobState.RUNNING, "a thread that holds no claim records nothing"


def test_the_current_claim_records_its_outcome(registry: Registry) -> None:
    job_id = _queued_job(registry)

    def run() -> None:
        assert store.claim_job(registry, job_id)
        store.set_step(registry, job_id, "inventory")
        store.finish_without_report(registry, job_id, Priority.ROUTINE, "routing selected no pipeline")

    _in_thread(run)
    job = _job(registry, job_id)
    assert (job.state, job.step, job.attempts) == (JobState.DONE, "done", 1)


def test_a_job_that_finished_since_it_was_read_is_not_queued_again(registry: Registry) -> None:
    job_id = _queued_job(registry)
    assert store.claim_job(registry, job_id)
    with registry.session() as session:  # the reconciler read the running job ...
        seen = session.get(Job, job_id)
        assert seen is not None
        session.expunge(seen)
    store.finish_without_report(registry, job_id, Priority.ROUTINE, "routing selected no pipeline")  # ... it finished
    with registry.session() as session:
        assert requeue_lost(session, seen) is False
    assert _job(registry, job_id).state == JobState.DONE


def test_a_job_claimed_again_since_it_was_read_is_not_queued_again(registry: Registry) -> None:
    job_id = _queued_job(registry)
    assert store.claim_job(registry, job_id)
    with registry.session() as session:
        seen = session.get(Job, job_id)
        assert seen is not None
        session.expunge(seen)
    assert _requeue(registry, job_id)
    assert _in_thread(store.claim_job, registry, job_id) is True  # attempt 2 runs now
    with registry.session() as session:
        assert requeue_lost(session, seen) is False, "the stale read of attempt 1 must not requeue attempt 2"
    assert (_job(registry, job_id).state, _job(registry, job_id).attempts) == (JobState.RUNNING, 2)
