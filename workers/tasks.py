"""Celery tasks of the analysis queue. Thin: the job runs in :func:`node.jobs.run.run_job`."""

from __future__ import annotations

from node.broker.workers import holding
from node.jobs.run import run_job
from workers.celery_app import app


@app.task(name="workers.tasks.analyse_study", acks_late=True)
def analyse_study(job_id: int) -> str:
    with holding(job_id):  # the heartbeat names the job while this worker runs it
        return run_job(job_id)
