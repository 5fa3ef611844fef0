"""Celery tasks of the analysis queue. Thin: the job runs in :func:`node.jobs.run.run_job`."""

from __future__ import annotations

from node.jobs.run import run_job
from workers.celery_app import app


@app.task(name="workers.tasks.analyse_study", acks_late=True)
def analyse_study(job_id: int) -> str:
    return run_job(job_id)
