"""Celery tasks of the analysis queue. Thin: load by ID, run the pure pipeline, save, hand on."""

from __future__ import annotations

import logging

from node import jobs, runtime
from node.orchestrate import analyse
from node.workers_seen import holding
from workers.celery_app import app

log = logging.getLogger(__name__)


@app.task(name="workers.tasks.analyse_study", acks_late=True)
def analyse_study(job_id: int) -> str:
    rt = runtime.current()
    with holding(job_id):  # the heartbeat names the job while this worker runs it
        if not jobs.claim_job(rt.registry, job_id):
            return "skipped"
        try:
            outcome, delivery_ids = analyse(rt, job_id)
        except Exception as exc:
            log.exception("job %d failed", job_id)
            jobs.fail_job(rt.registry, job_id, f"{type(exc).__name__}: {exc}")
            return "failed"
    from node.delivery.tasks import deliver

    try:
        for delivery_id in delivery_ids:
            deliver.delay(delivery_id)
        jobs.mark_enqueued(rt.registry, delivery_ids)
    except Exception:  # broker down: the reconciler sends them later
        log.warning("job %d: could not enqueue deliveries now; the reconciler will", job_id)
    return outcome
