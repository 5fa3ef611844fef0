"""One analysis job with routing: inventory, arrival rules, the selected pipelines, results rules.

Arrival rules see the DICOM attributes, the calling/called AE and the series inventory: they choose the
pipelines, forward originals, set the priority and notify. After the report, results rules see the grades
and flags too: they choose where results go (DICOM destinations and RIS endpoints) and may raise the
priority. With no rules configured, every pipeline runs and results go to every destination.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import select

from node import jobs
from node.registry.models import Instance, Series, Study
from node.routing.evaluate import Phase, RoutingDecision, evaluate_rules
from node.routing.facts import StudyFacts, attributes_of
from node.routing.notify import NotificationError, send_notification
from node.routing.rules import Priority, RuleSet
from node.runtime import Runtime
from workers.pipeline import STEPS, PipelineContext
from workers.pipeline.steps import PIPELINE_ANALYSERS

log = logging.getLogger(__name__)


def _facts(ctx: PipelineContext, study: dict[str, str], with_results: bool) -> StudyFacts:
    first = ctx.sources[0] if ctx.sources else None
    return StudyFacts(
        attributes=attributes_of(first) if first is not None else {},
        calling_aet=study.get("calling_aet") or "",
        called_aet=study.get("called_aet") or "",
        inventory=list(ctx.inventory.values()),
        results=(ctx.criteria or {}) if with_results else None,
        flags=list(ctx.flags) if with_results else None,
    )


def _notify(rules: RuleSet, study_uid: str, decision: RoutingDecision) -> None:
    for name in decision.notify:
        try:
            send_notification(rules.notifier(name), study_uid, decision)
        except (NotificationError, KeyError) as exc:
            log.warning("notification %s failed: %s", name, exc)


def _study_facts(rt: Runtime, job_id: int) -> tuple[int, dict[str, str]]:
    with rt.registry.session() as session:
        job = session.get(jobs.Job, job_id)
        assert job is not None
        study = session.get(Study, job.study_id)
        assert study is not None
        return study.id, {"calling_aet": study.calling_aet or "", "called_aet": study.called_aet or ""}


def _original_paths(rt: Runtime, study_id: int) -> list[str]:
    with rt.registry.session() as session:
        return list(
            session.scalars(select(Instance.path).join(Series).where(Series.study_id == study_id).order_by(Instance.id))
        )


def analyse(rt: Runtime, job_id: int) -> tuple[str, list[int]]:
    """Run one claimed job. Returns (outcome, delivery IDs to enqueue)."""
    settings = rt.settings
    rules = settings.routing.rule_set(settings.target_names())
    ctx = jobs.build_context(rt.registry, settings, job_id)
    study_id, aets = _study_facts(rt, job_id)
    progress = lambda step: jobs.set_step(rt.registry, job_id, step)  # noqa: E731
    log.info("job %d: analysing %d series", job_id, len(ctx.series))

    progress("inventory")
    started = time.perf_counter()
    STEPS["inventory"](ctx)
    ctx.stage_seconds["inventory"] = time.perf_counter() - started
    arrival = evaluate_rules(rules, _facts(ctx, aets, False), phase=Phase.ARRIVAL, destinations=settings.destinations)
    log.info("job %d: arrival routing: %s", job_id, arrival.to_json()["matched"] or "default")
    ctx.pipelines = tuple(arrival.pipelines)
    _notify(rules, ctx.study_uid, arrival)
    forward = jobs.create_forward_deliveries(
        rt.registry, study_id, ctx.revision, arrival.forward_to, _original_paths(rt, study_id)
    )
    if not ctx.pipelines:
        jobs.finish_without_report(rt.registry, job_id, arrival.priority, "routing selected no pipeline")
        return "no pipeline", forward
    for name in ("analysis", "criteria", "results"):
        if name == "analysis" and not set(PIPELINE_ANALYSERS) & set(ctx.pipelines):
            continue
        if name == "criteria" and "criteria" not in ctx.pipelines:
            continue
        progress(name)
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
    decision = evaluate_rules(rules, _facts(ctx, aets, True), phase=Phase.RESULTS, destinations=settings.destinations)
    _notify(rules, ctx.study_uid, decision)
    by_findings = ctx.findings_report.priority if ctx.findings_report is not None else None
    candidates = [arrival.priority, decision.priority] + ([Priority(by_findings)] if by_findings else [])
    priority = min(candidates, key=lambda p: Priority(p).rank)
    delivery_ids = jobs.save_outcome(
        rt.registry, settings, job_id, ctx, results_to=decision.results_to, priority=str(priority)
    )
    more = jobs.create_forward_deliveries(
        rt.registry, study_id, ctx.revision, decision.forward_to, _original_paths(rt, study_id)
    )
    return "done", forward + delivery_ids + more
