"""The study lifecycle in the registry, on SQLite (embedded) and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from instance_headers import instance_header
from postgres import registry_on
from sqlalchemy import select

from node.broker.liveness import current_worker
from node.broker.reconciler import deliveries_to_send, jobs_to_send
from node.dicom.received import Received
from node.ingest.recorder import PatientKeyer, record_instances
from node.jobs.store import claim_job
from node.registry.db import Registry
from node.registry.models import Delivery, DeliveryState, Job, JobState, Study, StudyState, utcnow
from node.stability import mark_stable


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    with registry_on(request.param, tmp_path) as reg:
        yield reg


def receive(registry: Registry, keyer: PatientKeyer, *sops: str, study: str = "1.2.3") -> None:
    with registry.session() as s:
        record_instances(
            s, [Received(instance_header(study, "1.2.3.1", sop), Path(f"/x/{sop}"), 10) for sop in sops], keyer
        )


def test_lifecycle_stable_job_claim_and_late_instance(registry: Registry, tmp_path: Path) -> None:
    keyer = PatientKeyer(tmp_path)
    receive(registry, keyer, "1.2.3.1.1", "1.2.3.1.2")
    receive(registry, keyer, "1.2.3.1.2")  # duplicate: idempotent
    with registry.session() as s:
        study = s.scalar(select(Study))
        assert study is not None and study.state == StudyState.RECEIVING
        assert study.patient_key and study.patient_key != "P1" and len(study.patient_key) == 16
        # not yet stable: too recent
        assert mark_stable(s, 60, set()) == []
        # busy association: not stable even when old
        study.last_received_at = utcnow() - timedelta(seconds=120)
        assert mark_stable(s, 60, {"1.2.3"}) == []
        job_ids = mark_stable(s, 60, set())
        assert len(job_ids) == 1 and study.state == StudyState.QUEUED
    with registry.session() as s:
        assert jobs_to_send(s) == job_ids
    assert claim_job(registry, job_ids[0]) is True
    assert claim_job(registry, job_ids[0]) is False, "a job is claimed once"
    with registry.session() as s:
        job = s.get(Job, job_ids[0])
        assert job is not None and job.state == JobState.RUNNING and job.worker == current_worker()
        study = s.scalar(select(Study))
        assert study is not None and study.state == StudyState.ANALYSING
        study.state = StudyState.REPORTED
    # late instance: back to receiving, new revision
    receive(registry, keyer, "1.2.3.1.3")
    with registry.session() as s:
        study = s.scalar(select(Study))
        assert study is not None and (study.state, study.revision) == (StudyState.RECEIVING, 2)
        study.last_received_at = utcnow() - timedelta(seconds=120)
        new_jobs = mark_stable(s, 60, set())
        assert len(new_jobs) == 1 and new_jobs != job_ids
        assert s.get(Job, new_jobs[0]).revision == 2  # type: ignore[union-attr]


def test_running_job_of_a_dead_worker_is_queued_again(registry: Registry, tmp_path: Path) -> None:
    receive(registry, PatientKeyer(tmp_path), "1.2.3.1.1")
    with registry.session() as s:
        study = s.scalar(select(Study))
        assert study is not None
        job = Job(
            study_id=study.id,
            revision=1,
            state=JobState.RUNNING,
            started_at=utcnow(),
            worker=f"{current_worker().split(':')[0]}:999999999",
        )
        alive = Job(study_id=study.id, revision=2, state=JobState.RUNNING, started_at=utcnow(), worker=current_worker())
        s.add_all([job, alive])
        s.flush()
        assert jobs_to_send(s) == [job.id]
        assert job.state == JobState.QUEUED and alive.state == JobState.RUNNING


def test_due_and_stale_deliveries_are_sent_again(registry: Registry, tmp_path: Path) -> None:
    receive(registry, PatientKeyer(tmp_path), "1.2.3.1.1")
    with registry.session() as s:
        study = s.scalar(select(Study))
        assert study is not None
        due = Delivery(study_id=study.id, revision=1, destination="pacs")
        later = Delivery(study_id=study.id, revision=1, destination="b", next_attempt_at=utcnow() + timedelta(hours=1))
        stale = Delivery(
            study_id=study.id,
            revision=1,
            destination="c",
            state=DeliveryState.SENDING,
            claimed_at=utcnow() - timedelta(hours=1),
        )
        dead = Delivery(study_id=study.id, revision=1, destination="d", state=DeliveryState.DEAD)
        s.add_all([due, later, stale, dead])
        s.flush()
        assert sorted(deliveries_to_send(s)) == sorted([due.id, stale.id])
