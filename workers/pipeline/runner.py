"""Run the steps of the study pipeline in order, reporting progress."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from workers.pipeline.context import PipelineContext
from workers.pipeline.steps import step_analysis, step_criteria, step_inventory, step_results

log = logging.getLogger(__name__)

Step = Callable[[PipelineContext], None]

STEPS: dict[str, Step] = {
    "inventory": step_inventory,
    "analysis": step_analysis,
    "criteria": step_criteria,
    "results": step_results,
}
DEFAULT_STEPS: tuple[str, ...] = ("inventory", "analysis", "criteria", "results")
#: Steps whose failure is reported in the result instead of failing the study.
OPTIONAL_STEPS = frozenset({"analysis"})


def run_pipeline(
    ctx: PipelineContext,
    steps: Sequence[str] = DEFAULT_STEPS,
    progress: Callable[[str], None] | None = None,
) -> PipelineContext:
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(f"unknown pipeline steps: {unknown}; known: {sorted(STEPS)}")
    for name in steps:
        if progress:
            progress(name)
        try:
            STEPS[name](ctx)
        except Exception as exc:
            if name not in OPTIONAL_STEPS:
                raise
            log.exception("step %s failed for study revision %d", name, ctx.revision)
            ctx.notes.append(f"{name} failed: {type(exc).__name__}: {str(exc)[:200]}")
    return ctx
