"""One study analysed from files, with no running node (``spinenode analyse``): the pipeline's own steps.

:func:`analyse_files` runs the inventory, analysis and criteria steps (:data:`workers.pipeline.STEPS`) exactly
as the node does, and optionally writes one DICOM Segmentation per analysed series. The result is the
analysis output of ``shared/spec/architecture.md`` for that study.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from workers import __version__
from workers.pipeline.candidates import candidates_json
from workers.pipeline.context import PIPELINES, PipelineContext, SeriesFiles
from workers.pipeline.steps import ALGORITHM_NAME, STEPS
from workers.results.findings import FindingsReport
from workers.results.findings_step import findings_report
from workers.results.header import deterministic_uid

log = logging.getLogger(__name__)


@dataclass
class StudyFiles:
    """The readable DICOM files of one study, by series, and the files that claim it but were skipped."""

    study_uid: str
    series: dict[str, list[Path]] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)


def run_steps(study: StudyFiles) -> PipelineContext:
    """The pipeline's inventory, analysis and criteria steps over one study's files, as a job runs them."""
    ctx = PipelineContext(
        study_uid=study.study_uid,
        revision=1,
        series=[SeriesFiles(uid, tuple(paths)) for uid, paths in study.series.items()],
        content_datetime=datetime.now(),
        pipelines=PIPELINES,
    )
    for name in ("inventory", "analysis", "criteria"):
        try:
            STEPS[name](ctx)
        except Exception as exc:  # as in node.jobs.run: one step that fails is reported, not fatal
            log.exception("%s failed", name)
            ctx.errors.append(f"{name} failed: {type(exc).__name__}: {str(exc)[:200]}")
    return ctx


def analyse_files(study: StudyFiles, *, seg_dir: Path | None = None) -> dict[str, Any]:
    """The analysis output of one study (the ``spinenode analyse --json`` object)."""
    return analysis_output(run_steps(study), study, seg_dir=seg_dir)


def findings_of(ctx: PipelineContext) -> FindingsReport:
    """The findings the card and the worklist would show for this study (no review decisions yet)."""
    return findings_report(
        analysis=ctx.analysis,
        criteria=ctx.criteria,
        checks=ctx.protocol_checks,
        reviews={},
        findings_entries=ctx.findings_entries,
        clinical=ctx.clinical,
        errors=ctx.errors,
    )


def analysis_output(ctx: PipelineContext, study: StudyFiles, *, seg_dir: Path | None = None) -> dict[str, Any]:
    """The analysis output of a study whose steps have run in ``ctx``."""
    segmentations = write_segmentations(ctx, seg_dir) if seg_dir is not None else []
    out: dict[str, Any] = {
        "study_uid": study.study_uid,
        "series": [inv.to_json() for inv in ctx.inventory.values()],
        "measurements": ctx.measurements_json(),
        "candidates": candidates_json(ctx.candidate_findings),
        "qc": [v.as_json() for v in ctx.qc],
        "levels": ctx.levels,
        "criteria": ctx.criteria_json(),
        "segmentations": segmentations,
        "notes": ctx.notes,
        "errors": ctx.errors,
    }
    if study.skipped:
        out["skipped"] = study.skipped
    return out


def write_segmentations(ctx: PipelineContext, seg_dir: Path) -> list[dict[str, Any]]:
    """One DICOM Segmentation per analysed series with masks, under ``seg_dir``; what was written."""
    from workers.analysis.masks import segment_masks
    from workers.results.seg import build_segmentation

    if ctx.analysis is None:
        return []
    seg_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for series_uid, segments in segment_masks(ctx.analysis).items():
        try:
            sources = ctx.series_headers(series_uid)
            seg = build_segmentation(
                sources,
                segments,
                series_instance_uid=deterministic_uid(series_uid, namespace="spinenode-seg-series"),
                sop_instance_uid=deterministic_uid(series_uid, __version__, namespace="spinenode-seg"),
                algorithm_name=ALGORITHM_NAME,
                algorithm_version=__version__,
                content_datetime=ctx.content_datetime,
            )
        except (KeyError, ValueError) as exc:
            ctx.errors.append(f"segmentation of series {series_uid} not written: {exc}"[:300])
            continue
        path = seg_dir / f"seg-{series_uid}.dcm"
        tmp = path.with_suffix(".tmp")
        seg.save_as(tmp, enforce_file_format=True)
        tmp.replace(path)
        written.append({"series_uid": series_uid, "path": str(path), "segments": [s.label for s in segments]})
    return written
