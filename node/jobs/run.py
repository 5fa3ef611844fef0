"""One analysis job, in order: claim, inventory, arrival rules, the selected pipeline steps, results rules,
save, hand the deliveries to the broker, index the new SR in the archive. No SQL here: every registry read
and write is in :mod:`node.jobs.store`, every delivery row is created in :mod:`node.delivery.rows`.

Arrival rules see the DICOM attributes, the calling/called AE and the series inventory: they choose the
pipelines, forward originals, set the priority and notify. After the report, results rules see the grades
and flags too: they choose where results go (DICOM destinations and RIS endpoints) and may raise the
priority. With no rules configured, every pipeline runs and results go to every destination.
"""

from __future__ import annotations

import logging
import time

from node import runtime
from node.delivery.rows import mark_enqueued
from node.jobs import store
from node.registry.db import out_of_reach
from node.routing.evaluate import Phase, RoutingDecision, evaluate_rules
from node.routing.facts import StudyFacts, attributes_of
from node.routing.notify import NotificationError, send_notification
from node.routing.rules import Priority, RuleSet
from node.runtime import Runtime
from workers.pipeline import STEPS, PipelineContext
from workers.pipeline.steps import steps_after_inventory

log = logging.getLogger(__name__)


def run_job(job_id: int, rt: Runtime | None = None) -> str:
    """Claim job ``job_id``, analyse it, hand its deliveries on. Returns the outcome ("done", "no pipeline",
    "failed", "skipped" when another worker has it or a newer revision superseded it, or "interrupted" when
    the registry was out of reach: the job is left running, unrecorded, and the reconciler queues it again
    once this worker's heartbeat no longer names it, :func:`node.broker.workers.lost_by_worker`)."""
    rt = rt or runtime.current()
    if not store.claim_job(rt.registry, job_id):
        return "skipped"
    try:
        outcome, delivery_ids = analyse(rt, job_id)
    except store.JobTakenOver:  # taken for lost and claimed again: the new claim's run reports
        log.warning("job %d: claimed again elsewhere; this run stopped", job_id)
        return "skipped"
    except Exception as exc:
        if out_of_reach(exc):  # not the study's fault: left running, so that it is queued again (below)
            log.warning("job %d: the registry was out of reach (%s); the job runs again once it is back",
                        job_id, type(exc).__name__)  # fmt: skip
            return "interrupted"
        log.exception("job %d failed", job_id)
        store.fail_job(rt.registry, job_id, f"{type(exc).__name__}: {exc}")
        return "failed"
    finally:
        store.release(job_id)
    _enqueue(rt, job_id, delivery_ids)
    try:
        store.index_results(rt.registry)
    except Exception:  # the archive index is housekeeping's to complete; the job is done
        log.exception("job %d: the archive index is not updated now; housekeeping will", job_id)
    return outcome


def _enqueue(rt: Runtime, job_id: int, delivery_ids: list[int]) -> None:
    from node.delivery.tasks import deliver

    try:
        for delivery_id in delivery_ids:
            deliver.delay(delivery_id)
        mark_enqueued(rt.registry, delivery_ids)
    except Exception:  # broker down: the reconciler sends them later
        log.warning("job %d: could not enqueue deliveries now; the reconciler will", job_id)


def _facts(ctx: PipelineContext, study: store.JobStudy, with_results: bool) -> StudyFacts:
    first = ctx.sources[0] if ctx.sources else None
    return StudyFacts(
        attributes=attributes_of(first) if first is not None else {},
        calling_aet=study.calling_aet,
        called_aet=study.called_aet,
        inventory=ctx.inventory_json(),
        results=(ctx.criteria_json() or {}) if with_results else None,
        flags=list(ctx.flags) if with_results else None,
    )


def _notify(rules: RuleSet, study_uid: str, decision: RoutingDecision) -> None:
    for name in decision.notify:
        try:
            send_notification(rules.notifier(name), study_uid, decision)
        except (NotificationError, KeyError) as exc:
            log.warning("notification %s failed: %s", name, exc)


def analyse(rt: Runtime, job_id: int) -> tuple[str, list[int]]:
    """Run one claimed job. Returns (outcome, delivery IDs to enqueue)."""
    settings = rt.settings
    rules = rt.rules
    ctx = store.build_context(rt.registry, settings, job_id)
    study = store.job_study(rt.registry, job_id)
    log.info("job %d: analysing %d series, %d images", job_id, len(ctx.series), sum(len(s.paths) for s in ctx.series))

    store.set_step(rt.registry, job_id, "inventory")
    started = time.perf_counter()
    STEPS["inventory"](ctx)
    ctx.stage_seconds["inventory"] = time.perf_counter() - started
    arrival = evaluate_rules(rules, _facts(ctx, study, False), phase=Phase.ARRIVAL, destinations=settings.destinations)
    log.info("job %d: arrival routing: %s", job_id, arrival.to_json()["matched"] or "default")
    ctx.pipelines = tuple(arrival.pipelines)
    _notify(rules, ctx.study_uid, arrival)
    forward = store.forward_originals(rt.registry, study, arrival.forward_to)
    if not ctx.pipelines:
        store.finish_without_report(rt.registry, job_id, arrival.priority, "routing selected no pipeline")
        return "no pipeline", forward
    for name in steps_after_inventory(ctx.pipelines):
        store.set_step(rt.registry, job_id, name)
        started = time.perf_counter()
        try:
            STEPS[name](ctx)
            ctx.stage_seconds[name] = time.perf_counter() - started
        except Exception as exc:
            if name == "results":
                raise
            # A step that fails on an unusual study must not cost the study its report: the SR and the
            # card say what could not be done.
            log.exception("job %d: %s failed; the report says so", job_id, name)
            ctx.errors.append(f"{name} failed: {type(exc).__name__}: {str(exc)[:200]}")
    decision = evaluate_rules(rules, _facts(ctx, study, True), phase=Phase.RESULTS, destinations=settings.destinations)
    _notify(rules, ctx.study_uid, decision)
    by_findings = ctx.findings_report.priority if ctx.findings_report is not None else None
    candidates = [arrival.priority, decision.priority] + ([Priority(by_findings)] if by_findings else [])
    priority = min(candidates, key=lambda p: p.rank)
    started = time.perf_counter()
    delivery_ids = store.save_outcome(
        rt.registry, settings, job_id, ctx, results_to=decision.results_to, priority=priority
    )
    more = store.forward_originals(rt.registry, study, decision.forward_to)
    log.info("job %d: done in %s", job_id, step_times(ctx.stage_seconds, save=time.perf_counter() - started))
    return "done", forward + delivery_ids + more


def step_times(stage_seconds: dict[str, float], *, save: float) -> str:
    """The job's seconds in words for its log line: the total, then each step in the order it ran."""
    steps = {**stage_seconds, "save": save}
    each = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in steps.items())
    return f"{sum(steps.values()):.2f} s ({each})"
