"""Quantitative analysers: vertebral marrow ADC; spinal cord morphometry, DTI and MTR.

The pipeline calls :func:`run_analysers` with every series of a study (inventory + datasets) and
hands the result to :func:`analysis_sections` for the report. Every analyser whose inputs exist runs;
one that fails is recorded as skipped with the reason and a ``failed`` verdict, and the others still run.
Every output carries a QC verdict; :func:`workers.analysis.qc.enforce` (here, the one place) withholds the
findings of every output that is not ``ok``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from workers.analysis import qc
from workers.analysis.base import (
    Analyser,
    AnalyserResult,
    AnalysisOutput,
    CandidateFinding,
    EarlyStart,
    Measurement,
    SeriesInput,
)
from workers.analysis.canal import CanalAnalyser
from workers.analysis.cord.analyser import CordMorphometryAnalyser
from workers.analysis.cord.quantitative import DtiAnalyser, MtrAnalyser
from workers.analysis.ctm import CtMyelographyAnalyser
from workers.analysis.external import available_segmenters
from workers.analysis.levels import ANALYSER as LEVELS_ANALYSER
from workers.analysis.levels import estimate_levels, levels_verdict
from workers.analysis.marrow.analyser import MarrowAdcAnalyser
from workers.analysis.ri import RiCisternographyAnalyser
from workers.analysis.segmentation_cache import SegmentationCache, identities_of
from workers.analysis.segmentations import analysis_run
from workers.inventory.series import SeriesInventory

__all__ = [
    "ANALYSERS",
    "AnalyserResult",
    "AnalysisOutput",
    "CandidateFinding",
    "Measurement",
    "SeriesInput",
    "analysis_sections",
    "available_segmenters",
    "run_analysers",
    "study_context_kwargs",
]

log = logging.getLogger(__name__)

LEVELS_VERSION = "2.0"

ANALYSERS: tuple[Analyser, ...] = (
    CordMorphometryAnalyser(),
    MarrowAdcAnalyser(),
    DtiAnalyser(),
    MtrAnalyser(),
    CanalAnalyser(),
    CtMyelographyAnalyser(),
    RiCisternographyAnalyser(),
)


def run_analysers(
    series: Sequence[tuple[SeriesInventory, Sequence[Dataset]]],
    *,
    levels: Mapping[str, tuple[float, float]] | None = None,
    analysers: Sequence[Analyser] = ANALYSERS,
    workers: int | None = None,
    cache: Path | None = None,
) -> AnalysisOutput:
    """Run every analyser whose inputs exist among ``series`` (inventory, datasets of that series).

    ``levels`` (optional): vertebral level name -> (z_top, z_bottom) in patient mm, when known. When not
    given they are estimated from the sagittal T1/T2 (:mod:`workers.analysis.levels`), when a landmark allows.
    ``workers``: processes that segment the cord of independent series side by side (default: one per
    available core; 1: all in this process). Each series' segmentation is computed once for all analysers
    (:mod:`workers.analysis.segmentations`); the output is the same whatever the number. ``cache``: a folder of
    segmentations made before from the same files (:class:`~workers.analysis.segmentation_cache.SegmentationCache`,
    filled while the study arrived); the output is the same with or without it.
    """
    found = None
    if cache is not None:
        found = SegmentationCache(cache, identities_of(ds for _, dss in series for ds in dss))
    with analysis_run(workers, cache=found) as run:
        output = _run(series, levels, analysers)
        if found is not None:
            log.info(
                "segmentations: %d, of them %d made while the study arrived (%d of those still being made when"
                " asked for, waited for)",
                len(run.made()),
                run.cached,
                run.waited,
            )
        return output


def _run(
    series: Sequence[tuple[SeriesInventory, Sequence[Dataset]]],
    levels: Mapping[str, tuple[float, float]] | None,
    analysers: Sequence[Analyser],
) -> AnalysisOutput:
    inputs = [SeriesInput(inv, list(dss)) for inv, dss in series]
    output = AnalysisOutput()
    # Work that needs no levels (the canal analyser's axial series) begins on the pool, beside the levels
    # estimate and the analysers before it in this process.
    for analyser in analysers:
        if isinstance(analyser, EarlyStart) and (selected := analyser.select(inputs)) is not None:
            analyser.start(selected)
    if levels is None:
        _estimate_levels(inputs, output)
    else:
        output.levels = dict(levels)
        output.level_source = "given"
    context: dict[str, Any] = {"levels": dict(output.levels), "external_segmenters": available_segmenters()}
    for analyser in analysers:
        selected = analyser.select(inputs)
        if selected is None:
            output.skipped.append((analyser.name, "inputs not present"))
            continue
        try:
            result = analyser.run(selected, context)
        except (ValueError, ArithmeticError) as exc:
            log.warning("analyser %s failed: %s", analyser.name, exc)
            output.skipped.append((analyser.name, f"failed: {exc}"))
            result = AnalyserResult(analyser.name, analyser.version)
            result.qc.extend(qc.failed(analyser.name, selected, f"the analysis could not be completed: {exc}"))
        output.results.append(qc.enforce(result, selected))
    return output


def _estimate_levels(inputs: Sequence[SeriesInput], output: AnalysisOutput) -> None:
    """Automatic levels from the sagittal T1/T2, with their verdict as the result of ``vertebral_levels``."""
    estimate = estimate_levels(inputs)
    if estimate is None:
        output.skipped.append((LEVELS_ANALYSER, "no sagittal T2: vertebral levels not estimated"))
        return
    verdict = levels_verdict(estimate)
    result = AnalyserResult(LEVELS_ANALYSER, LEVELS_VERSION, qc=[verdict])
    result.details["estimate"] = estimate
    if estimate.levels:
        output.levels = dict(estimate.levels)
        output.level_source = f"automatic, anchor: {estimate.anchor}"
        names = list(estimate.levels)
        result.notes.append(f"levels {names[0]} to {names[-1]} named from {estimate.anchor}")
    else:
        output.notes.append(f"vertebral levels not named: {estimate.anchor}")
        result.notes.append(f"vertebral levels not named: {estimate.anchor}")
    output.results.append(result)


def study_context_kwargs(output: AnalysisOutput) -> dict[str, Any]:
    """Keyword arguments for ``workers.criteria.StudyContext`` from the analysis (e.g. the anterior-horn range)."""
    from workers.criteria.levels import LevelRange, parse_level

    kwargs: dict[str, Any] = {}
    horn = output.context_hints.get("anterior_horn_hyperintensity")
    if horn:
        kwargs["anterior_horn_hyperintensity"] = LevelRange(parse_level(horn[0])[0], parse_level(horn[1])[1])
    return kwargs


def analysis_sections(output: AnalysisOutput) -> list[Any]:
    """Report sections (summary lines, flags, TID 1501 groups, key images) of an analysis output."""
    from workers.analysis.sections import analysis_sections as build

    return build(output)
