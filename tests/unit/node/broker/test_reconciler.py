"""The reconciler and the stability watch both send newly queued jobs: a job goes to the broker once."""

from __future__ import annotations

from pathlib import Path

from node.broker.reconciler import Reconciler
from node.registry.db import Registry
from node.registry.models import Job, JobState, Study, StudyState


def _queued_job(tmp_path: Path) -> tuple[Registry, int]:
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with registry.session() as session:
        study = Study(study_uid="1.2.3", state=StudyState.QUEUED)
        session.add(study)
        session.flush()
        job = Job(study_id=study.id, revision=1, state=JobState.QUEUED)
        session.add(job)
        session.flush()
        return registry, job.id


def test_a_job_sent_by_the_stability_watch_is_not_sent_again_by_a_pass(tmp_path: Path) -> None:
    registry, job_id = _queued_job(tmp_path)
    sent: list[int] = []
    reconciler = Reconciler(registry, send_job=sent.append, send_delivery=lambda _: None)
    reconciler.send_jobs([job_id])
    reconciler.run_once()
    assert sent == [job_id]


def test_a_job_a_pass_sent_is_not_sent_again_by_the_stability_watch(tmp_path: Path) -> None:
    registry, job_id = _queued_job(tmp_path)
    sent: list[int] = []
    reconciler = Reconciler(registry, send_job=sent.append, send_delivery=lambda _: None)
    reconciler.run_once()
    reconciler.send_jobs([job_id])
    assert sent == [job_id]


def test_a_job_the_broker_refused_is_sent_by_the_next_pass(tmp_path: Path) -> None:
    registry, job_id = _queued_job(tmp_path)
    sent: list[int] = []

    def refuse(_: int) -> None:
        raise ConnectionError("broker down")

    Reconciler(registry, send_job=refuse, send_delivery=lambda _: None).send_jobs([job_id])
    Reconciler(registry, send_job=sent.append, send_delivery=lambda _: None).run_once()
    assert sent == [job_id]
