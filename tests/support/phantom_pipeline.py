"""A phantom study run through the pipeline's own steps, as the worker runs them, without a node."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydicom import dcmread

from workers.phantom import write_phantom
from workers.pipeline import STEPS, PipelineContext, SeriesFiles

STUDY_STEPS = ("inventory", "analysis", "criteria", "results")


def phantom_context(root: Path, scenario: str) -> PipelineContext:
    """The context of a job on phantom `scenario`, written under `root` (nothing run yet)."""
    study = write_phantom(root / "study", scenario)
    by_series: dict[str, list[Path]] = {}
    for f in sorted(study.files):
        by_series.setdefault(str(dcmread(f, stop_before_pixels=True).SeriesInstanceUID), []).append(f)
    return PipelineContext(
        study_uid=study.study_instance_uid,
        revision=1,
        series=[SeriesFiles(uid, tuple(paths)) for uid, paths in by_series.items()],
        content_datetime=datetime(2026, 11, 23, 12, 0, 0),
        output_dir=root / "out",
    )


def run_phantom(root: Path, scenario: str) -> PipelineContext:
    """Phantom `scenario` through inventory, analysis, criteria and results."""
    ctx = phantom_context(root, scenario)
    for name in STUDY_STEPS:
        STEPS[name](ctx)
    return ctx
