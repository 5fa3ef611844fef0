"""Stability on a real SQLite registry: a quiet study becomes a queued job; a study an open association is
still sending, or with instances still waiting to be recorded, does not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from node.registry.db import Registry
from node.registry.models import Job, JobState, Study, StudyState, utcnow
from node.stability import AssociationTracker, StabilityWatch, mark_stable


@dataclass
class Recorder:
    pending: int = 0


def _registry(tmp_path: Path) -> Registry:
    return Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")


def _receiving(registry: Registry, uid: str, seconds_ago: float) -> None:
    with registry.session() as session:
        session.add(
            Study(
                study_uid=uid,
                state=StudyState.RECEIVING,
                revision=1,
                flags=[],
                grades={},
                last_received_at=utcnow() - timedelta(seconds=seconds_ago),
            )
        )


def test_the_tracker_marks_a_study_busy_until_its_association_closes() -> None:
    tracker = AssociationTracker()
    tracker.opened(1)
    tracker.sent(1, "1.2.3")
    tracker.opened(2)
    assert tracker.busy_studies() == {"1.2.3"}
    tracker.closed(1)
    assert tracker.busy_studies() == set()


def test_only_quiet_studies_no_association_is_sending_become_queued_jobs(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    _receiving(registry, "1.1", 30)  # quiet
    _receiving(registry, "1.2", 30)  # quiet, but an association is still open
    _receiving(registry, "1.3", 1)  # still arriving
    with registry.session() as session:
        job_ids = mark_stable(session, 10.0, {"1.2"})
    with registry.session() as session:
        states = {s.study_uid: s.state for s in session.scalars(select(Study))}
        (job,) = session.scalars(select(Job)).all()
        assert job_ids == [job.id] and job.state == JobState.QUEUED and job.revision == 1
        assert session.get(Study, job.study_id).study_uid == "1.1"  # type: ignore[union-attr]
    assert states == {"1.1": StudyState.QUEUED, "1.2": StudyState.RECEIVING, "1.3": StudyState.RECEIVING}


def test_a_finished_job_of_the_same_revision_is_queued_again(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    _receiving(registry, "1.1", 30)
    with registry.session() as session:
        (first,) = mark_stable(session, 10.0, set())
        job = session.get(Job, first)
        assert job is not None
        job.state, job.enqueued_at = JobState.DONE, utcnow()
        session.scalars(select(Study)).one().state = StudyState.RECEIVING
    with registry.session() as session:
        assert mark_stable(session, 10.0, set()) == [first]
        job = session.get(Job, first)
        assert job is not None and job.state == JobState.QUEUED and job.enqueued_at is None


def test_the_watch_waits_for_the_recorder_and_hands_new_jobs_on(tmp_path: Path) -> None:
    registry = _registry(tmp_path)
    _receiving(registry, "1.1", 30)
    queued: list[list[int]] = []
    recorder = Recorder(pending=3)
    watch = StabilityWatch(
        registry, stable_seconds=10.0, tracker=AssociationTracker(), recorder=recorder, on_queued=queued.append
    )
    assert watch.run_once() == [] and queued == []  # instances still to be recorded
    recorder.pending = 0
    job_ids = watch.run_once()
    assert len(job_ids) == 1 and queued == [job_ids]
    assert watch.run_once() == [] and queued == [job_ids]  # nothing new: nothing handed on
