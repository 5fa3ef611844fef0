"""Every registry read and write of an analysis job: claim it, build the pipeline context, record its
step, save what came out (results, grades, the deliveries it asks for), fail it, or finish it without a
report. The job's sequence itself is in :mod:`node.jobs.run`."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.archive.index import grades_of, index_new_results
from node.broker.liveness import current_worker
from node.delivery.rows import (
    create_forward_deliveries,
    create_report_deliveries,
    mark_study_delivered_if_done,
)
from node.registry.db import Registry
from node.registry.models import (
    EntrySource,
    FindingEntry,
    FindingStatus,
    Instance,
    Job,
    JobState,
    Result,
    ResultKind,
    Series,
    Study,
    StudyState,
    utcnow,
)
from node.routing.rules import Priority
from node.settings import Settings
from workers.pipeline import PipelineContext, SeriesFiles
from workers.pipeline.candidates import candidate_key, candidates_json
from workers.pipeline.early import cache_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobStudy:
    """The study a job analyses, as routing sees it."""

    study_id: int
    revision: int
    calling_aet: str
    called_aet: str


def job_study(registry: Registry, job_id: int) -> JobStudy:
    with registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        study = session.get(Study, job.study_id)
        assert study is not None
        return JobStudy(study.id, job.revision, study.calling_aet or "", study.called_aet or "")


class JobTakenOver(RuntimeError):
    """This run's claim on a job is no longer the job's claim (it was taken for lost and claimed again, by
    another worker or another thread of this one): the run stops and records nothing."""


# The claim a thread holds, job ID -> the job's attempt number when this thread claimed it. Per thread: two
# threads of one worker process share current_worker(), so the attempt number is what tells their claims apart.
_claims = threading.local()


def _held() -> dict[int, int]:
    held: dict[int, int] | None = getattr(_claims, "jobs", None)
    if held is None:
        held = _claims.jobs = {}
    return held


def claim_job(registry: Registry, job_id: int) -> bool:
    """queued -> running for exactly one worker, atomically (one conditional UPDATE); a job of an outdated
    revision is superseded. The claim is this thread's: every later write of this run is fenced by it."""
    _held().pop(job_id, None)
    with registry.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.state != JobState.QUEUED:
            return False
        study = session.get(Study, job.study_id)
        assert study is not None
        if study.revision != job.revision or study.state == StudyState.RECEIVING:
            session.execute(
                update(Job)
                .where(Job.id == job_id, Job.state == JobState.QUEUED)
                .values(state=JobState.SUPERSEDED, finished_at=utcnow())
            )
            return False
        attempt = job.attempts + 1
        res = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.QUEUED, Job.attempts == job.attempts)
            .values(
                state=JobState.RUNNING,
                started_at=utcnow(),
                attempts=attempt,
                error=None,
                step="claimed",
                worker=current_worker(),
            )
            .execution_options(synchronize_session=False)
        )
        if not res.rowcount:  # type: ignore[attr-defined]
            return False
        study.state = StudyState.ANALYSING
    _held()[job_id] = attempt
    return True


def _fenced(session: Session, job_id: int) -> Job | None:
    """The job, locked for this transaction, when this thread's claim is still its claim; else None (and a
    warning: its outcome is discarded, so a job never reports or delivers twice).

    The first statement is a conditional UPDATE: it takes the row's write lock (PostgreSQL) or the database's
    (SQLite) before anything is read, so no requeue or second claim can slip in between the check and the
    writes that follow it in the same transaction."""
    attempt = _held().get(job_id)
    res = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.state == JobState.RUNNING,
            Job.worker == current_worker(),
            Job.attempts == (attempt if attempt is not None else -1),
        )
        .values(step=Job.step)
        .execution_options(synchronize_session=False)
    )
    job = session.get(Job, job_id)
    if res.rowcount:  # type: ignore[attr-defined]
        assert job is not None
        return job
    if job is not None:
        log.warning(
            "job %d is now %s on %s (attempt %d): this run's outcome is discarded",
            job.id,
            job.state.value,
            job.worker,
            job.attempts,
        )
    return None


def release(job_id: int) -> None:
    """Forget this thread's claim on ``job_id`` (the run is over)."""
    _held().pop(job_id, None)


def build_context(registry: Registry, settings: Settings, job_id: int) -> PipelineContext:
    with registry.session() as session:
        job = session.get(Job, job_id)
        assert job is not None
        study = session.get(Study, job.study_id)
        assert study is not None
        series_files: list[SeriesFiles] = []
        for series in session.scalars(
            select(Series).where(Series.study_id == study.id).order_by(Series.series_number, Series.id)
        ):
            paths = session.scalars(
                select(Instance.path).where(Instance.series_id == series.id).order_by(Instance.id)
            ).all()
            if paths:
                series_files.append(SeriesFiles(series.series_uid, tuple(Path(p) for p in paths)))
        entries = session.scalars(
            select(FindingEntry)
            .where(FindingEntry.study_id == study.id, FindingEntry.status == FindingStatus.ACTIVE)
            .order_by(FindingEntry.id)
        ).all()
        # a review entry is a radiologist's decision on a coded finding: {"key": …, "decision": …}
        findings = [e.body for e in entries if e.source not in (EntrySource.CLINICAL, EntrySource.REVIEW)]
        reviews = {
            str(e.body.get("key")): str(e.body.get("decision")) for e in entries if e.source == EntrySource.REVIEW
        }
        clinical: dict[str, Any] = {}
        for e in entries:
            if e.source == EntrySource.CLINICAL:
                clinical.update(e.body)
        previous = session.scalars(
            select(Result)
            .where(Result.study_id == study.id, Result.kind == ResultKind.SR, Result.revision < job.revision)
            .order_by(Result.revision.desc())
        ).first()
        settled = settled_candidate_keys(session, study.id)
        return PipelineContext(
            study_uid=study.study_uid,
            revision=job.revision,
            series=series_files,
            content_datetime=job.created_at,
            findings_entries=findings,
            clinical=clinical,
            previous_sr_path=Path(previous.path) if previous and Path(previous.path).exists() else None,
            output_dir=settings.results_dir / study.study_uid,
            segmentation_cache=cache_folder(settings.data_dir),
            settled_candidates=settled,
            finding_reviews=reviews,
        )


def set_step(registry: Registry, job_id: int, step: str) -> None:
    """Record the step this run is at; raise :class:`JobTakenOver` when the job is no longer this run's, so
    that a run taken for lost stops at its next step instead of running on beside the new one."""
    with registry.session() as session:
        job = _fenced(session, job_id)
        if job is None:
            raise JobTakenOver(f"job {job_id} was claimed again; this run stops")
        job.step = step


def save_outcome(
    registry: Registry,
    settings: Settings,
    job_id: int,
    ctx: PipelineContext,
    *,
    results_to: list[str] | None = None,
    priority: Priority | None = None,
) -> list[int]:
    """Store inventory, results and grades; create result deliveries (to ``results_to``, default: every
    destination with ``results`` enabled). Returns the new delivery IDs."""
    with registry.session() as session:
        job = _fenced(session, job_id)
        if job is None:
            return []
        study = session.get(Study, job.study_id)
        assert study is not None
        if study.revision != job.revision:  # findings or late instances arrived meanwhile: a newer job reports
            job.state = JobState.SUPERSEDED
            job.finished_at = utcnow()
            log.info("job %d superseded by revision %d", job.id, study.revision)
            return []
        for series in session.scalars(select(Series).where(Series.study_id == study.id)):
            if series.series_uid in ctx.inventory:
                series.inventory = ctx.inventory[series.series_uid].to_json()
        previous = session.scalars(
            select(Result.sop_instance_uid)
            .where(Result.study_id == study.id, Result.kind == ResultKind.SR, Result.revision < job.revision)
            .order_by(Result.revision.desc())
        ).first()
        criteria = ctx.criteria_json()
        for obj in ctx.result_objects.values():
            if session.scalar(select(Result.id).where(Result.sop_instance_uid == obj.sop_instance_uid)):
                continue
            session.add(
                Result(
                    study_id=study.id,
                    revision=job.revision,
                    kind=obj.kind,
                    sop_class_uid=obj.sop_class_uid,
                    sop_instance_uid=obj.sop_instance_uid,
                    series_uid=obj.series_instance_uid,
                    path=str(obj.path),
                    summary={
                        "flags": ctx.flags,
                        "criteria": criteria,
                        "notes": ctx.notes,
                        "candidates": candidates_json(ctx.candidate_findings),
                        "findings": ctx.findings_report.as_json() if ctx.findings_report is not None else None,
                        "stage_seconds": {k: round(v, 3) for k, v in ctx.stage_seconds.items()},
                        "qc": [v.as_json() for v in ctx.qc],
                        "measurements": ctx.measurements_json(),
                    },
                    predecessor_uid=previous if obj.kind == ResultKind.SR else None,
                )
            )
        session.flush()
        study.grades = grades_of(criteria)
        study.flags = ctx.flags
        study.state = StudyState.REPORTED
        study.reason = None
        study.reported_at = utcnow()
        if priority:
            study.priority = priority
        job.state = JobState.DONE
        job.step = "done"
        job.finished_at = utcnow()
        created = create_report_deliveries(session, settings, study, job.revision, results_to)
        mark_study_delivered_if_done(session, study.id)
        return [d.id for d in created]


def index_results(registry: Registry) -> None:
    """The archive entry of every new SR (:func:`node.archive.index.index_new_results`), in a transaction of
    its own after the job's deliveries are on their way: it reads the SR file's whole content tree (~0.8 CPU s
    at a thousand images), which no delivery waits for. Housekeeping indexes what this misses."""
    with registry.session() as session:
        index_new_results(session)


def fail_job(registry: Registry, job_id: int, error: str) -> None:
    with registry.session() as session:
        job = _fenced(session, job_id)
        if job is None:
            return
        job.state = JobState.FAILED
        job.error = error[:2000]
        job.finished_at = utcnow()
        study = session.get(Study, job.study_id)
        if study is not None and study.revision == job.revision:
            study.state = StudyState.FAILED
            study.reason = f"analysis failed at step {job.step}: {error[:300]}"


def request_reanalysis(session: Session, study: Study, reason: str) -> Job:
    """A new revision of a study (e.g. findings changed): queue a job; its SR amends the previous one."""
    study.revision += 1
    study.state = StudyState.QUEUED
    study.reason = None
    job = Job(study_id=study.id, revision=study.revision, state=JobState.QUEUED, step=reason[:32])
    session.add(job)
    session.flush()
    log.info("study %d: revision %d queued (%s)", study.id, study.revision, reason)
    return job


def forward_originals(registry: Registry, job: JobStudy, destinations: list[str]) -> list[int]:
    """Delivery rows forwarding the originals of the job's study revision to ``destinations``."""
    if not destinations:
        return []
    with registry.session() as session:
        paths = list(
            session.scalars(
                select(Instance.path).join(Series).where(Series.study_id == job.study_id).order_by(Instance.id)
            )
        )
        return [d.id for d in create_forward_deliveries(session, job.study_id, job.revision, destinations, paths)]


def finish_without_report(registry: Registry, job_id: int, priority: Priority, reason: str) -> None:
    with registry.session() as session:
        job = _fenced(session, job_id)
        if job is None:
            return
        job.state = JobState.DONE
        job.step = "done"
        job.finished_at = utcnow()
        study = session.get(Study, job.study_id)
        assert study is not None
        study.state = StudyState.REPORTED
        study.priority = priority
        study.reason = reason
        study.reported_at = utcnow()


# Automated candidate findings a radiologist settled --------------------------------------------------------


def settled_candidate_keys(session: Session, study_id: int) -> set[str]:
    """Candidate keys settled for a study: rejected entries and active non-automated findings (a confirmed
    candidate is stored as a radiologist finding with the same content)."""
    entries = session.scalars(
        select(FindingEntry).where(
            FindingEntry.study_id == study_id,
            FindingEntry.source.not_in((EntrySource.CLINICAL, EntrySource.REVIEW)),
            FindingEntry.status.in_((FindingStatus.REJECTED, FindingStatus.ACTIVE)),
        )
    ).all()
    return {
        candidate_key(e.body)
        for e in entries
        if e.status == FindingStatus.REJECTED
        or (e.status == FindingStatus.ACTIVE and e.source != EntrySource.AUTOMATED)
    }
