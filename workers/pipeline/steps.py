"""The pipeline steps. Each takes the :class:`PipelineContext`, calls pure code, and adds to it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from workers import __version__
from workers.pipeline.collector import without_collector
from workers.pipeline.context import Pipeline, PipelineContext, ResultKind, ResultObject
from workers.results.header import deterministic_uid
from workers.results.section import ReportSection

if TYPE_CHECKING:
    from workers.analysis.base import CandidateFinding
    from workers.criteria import StudyContext

log = logging.getLogger(__name__)

ALGORITHM_NAME = "spinenode"
SR_SERIES_NUMBER = 9901
SC_SERIES_NUMBER = 9902


def result_uids(study_uid: str, revision: int) -> dict[str, str]:
    """Deterministic UIDs: re-running the same revision gives the same objects (no duplicates in PACS)."""

    def uid(*parts: object) -> str:
        return deterministic_uid(study_uid, *map(str, parts))

    return {
        "sr_series": uid("sr-series"),
        "sc_series": uid("sc-series"),
        "sr": uid("sr", revision),
        "sc": uid("sc", revision),
    }


def step_inventory(ctx: PipelineContext) -> None:
    from workers.inventory import classify_series
    from workers.inventory.protocol import protocol_checks
    from workers.inventory.sections import protocol_sections

    inventories = []
    headers_by_series = ctx.load_headers()
    if not headers_by_series:
        raise FileNotFoundError(f"no instance of the study could be read ({len(ctx.errors)} left out)")
    for series_uid, headers in headers_by_series.items():
        try:
            inv = classify_series(headers)
        except Exception as exc:  # one odd series must not hide the others
            log.exception("series could not be classified")
            ctx.errors.append(f"inventory: series {series_uid} not classified: {type(exc).__name__}: {exc}"[:300])
            continue
        inventories.append(inv)
        ctx.inventory[series_uid] = inv
    checks = protocol_checks(inventories)
    ctx.protocol_checks = list(checks)
    ctx.add_sections("inventory", protocol_sections(inventories, checks))


#: Routing pipeline names (``then.pipelines``) -> the analysers they run.
PIPELINE_ANALYSERS: dict[Pipeline, tuple[str, ...]] = {
    Pipeline.CRITERIA: ("canal_fluid", "ct_myelography", "ri_cisternography"),  # candidates that feed the criteria
    Pipeline.CORD: ("cord_morphometry", "cord_dti", "cord_mtr"),
    Pipeline.MARROW_ADC: ("marrow_adc",),
}


def steps_after_inventory(pipelines: tuple[Pipeline, ...]) -> list[str]:
    """The steps the selected pipelines need after the inventory: the analysers when a pipeline runs one,
    the criteria when the criteria pipeline is selected, and always the results."""
    names = []
    if set(PIPELINE_ANALYSERS) & set(pipelines):
        names.append("analysis")
    if Pipeline.CRITERIA in pipelines:
        names.append("criteria")
    return [*names, "results"]


def step_analysis(ctx: PipelineContext) -> None:
    from workers.analysis import ANALYSERS, analysis_sections, run_analysers, study_context_kwargs
    from workers.analysis.contract import levels_json

    wanted = [
        uid
        for uid, inv in ctx.inventory.items()
        if (inv.modality == "MR" and inv.sequence) or inv.modality in ("CT", "NM")
    ]
    if not wanted:
        ctx.notes.append("analysis: no MR series with a known sequence, no CT or NM series")
        return
    names = {n for p in ctx.pipelines for n in PIPELINE_ANALYSERS.get(p, ())}
    analysers = [a for a in ANALYSERS if a.name in names]
    if not analysers:
        return
    series = [(ctx.inventory[uid], ctx.analysis_series(uid, ctx.inventory[uid].modality)) for uid in wanted]
    output = run_analysers(series, analysers=analysers, cache=ctx.segmentation_cache)
    ctx.analysis = output
    ctx.measurements = output.measurements
    ctx.qc = output.qc
    ctx.levels = levels_json(output)
    # run_analysers has withheld the findings of every output whose verdict is not ok (workers.analysis.qc).
    ctx.candidate_findings.extend(candidate_findings(output.findings))
    ctx.analysis_context.update(study_context_kwargs(output))
    ctx.notes.extend(f"{name}: {why}" for name, why in output.skipped)
    ctx.notes.extend(output.notes)
    ctx.add_sections("analysis", analysis_sections(output))


def candidate_findings(findings: Iterable[CandidateFinding]) -> list[CandidateFinding]:
    """The automated candidates that have a place in the findings contract (their JSON:
    :func:`workers.pipeline.candidates.candidates_json`)."""
    return [c for c in findings if c.finding]


def study_context(ctx: PipelineContext) -> StudyContext:
    """The criteria engine's StudyContext from the first header, the series inventory and the QC verdicts (the
    exams that could not be assessed)."""
    from workers.criteria import StudyContext
    from workers.criteria.context import thin_axial_ssfp_in_inventory
    from workers.pipeline.assessed import exams_not_assessed

    first = ctx.sources[0] if ctx.sources else None
    inventory = list(ctx.inventory.values())
    exams = set()
    for item in inventory:
        modality, region = item.modality, str(item.region or "").lower()
        if modality == "MR":
            exams.add("brain_mri" if any(w in region for w in ("brain", "head")) else "spinal_mri")
        elif modality in ("CT", "NM"):
            # a plain CT or a bone scan is no myelogram or cisternography (workers.inventory.exam)
            if item.exam:
                exams.add(item.exam)
    spinal_mr = [i for i in inventory if i.modality == "MR"]
    return StudyContext(
        study_date=(str(first.get("StudyDate", "")) or None) if first is not None else None,
        institution_name=(str(first.get("InstitutionName", ""))[:64] or None) if first is not None else None,
        spinal_mr_post_contrast=any(i.contrast for i in spinal_mr) if spinal_mr else None,
        thin_axial_ssfp=thin_axial_ssfp_in_inventory(ctx.inventory_json()) if inventory else None,
        exams_performed=frozenset(exams) if inventory else None,
        exams_not_assessed=exams_not_assessed(exams, ctx.analysis),
        **ctx.analysis_context,
    )


def step_criteria(ctx: PipelineContext) -> None:
    from workers.criteria import evaluate, parse_findings
    from workers.criteria.sections import criteria_sections
    from workers.pipeline.candidates import candidates_json, without_settled

    open_candidates = without_settled(ctx.candidate_findings, ctx.settled_candidates)
    findings = [dict(f) for f in ctx.findings_entries] + candidates_json(open_candidates)
    document = parse_findings({"clinical": ctx.clinical, "findings": findings})
    result = evaluate(document, study_context(ctx))
    ctx.criteria = result
    ctx.add_sections("criteria", criteria_sections(result, ctx.study_uid))


def step_results(ctx: PipelineContext) -> None:
    from pydicom import dcmread

    from workers.results import findings_step
    from workers.results.sc import build_summary_card
    from workers.results.seg_step import write_segmentations
    from workers.results.sr import build_measurement_report
    from workers.results.thumbnail import thumbnail_from_dataset

    assert ctx.output_dir is not None, "output_dir must be set before the results step"
    if ctx.errors:
        ctx.add_sections("processing", [ReportSection(title="Processing", lines=list(ctx.errors))])
    ctx.output_dir.mkdir(parents=True, exist_ok=True)
    uids = result_uids(ctx.study_uid, ctx.revision)
    sources = ctx.sources
    predecessor = dcmread(ctx.previous_sr_path, stop_before_pixels=True) if ctx.previous_sr_path else None
    report = findings_step.findings_report(
        analysis=ctx.analysis,
        criteria=ctx.criteria,
        checks=ctx.protocol_checks,
        reviews=ctx.finding_reviews,
        findings_entries=ctx.findings_entries,
        clinical=ctx.clinical,
        errors=ctx.errors,
    )
    ctx.findings_report = report
    sr = build_measurement_report(
        sources,
        ctx.sections,
        series_instance_uid=uids["sr_series"],
        sop_instance_uid=uids["sr"],
        series_number=SR_SERIES_NUMBER,
        instance_number=ctx.revision,
        algorithm_name=ALGORITHM_NAME,
        algorithm_version=__version__,
        predecessor=predecessor,
        content_datetime=ctx.content_datetime,
        findings=report,
    )
    thumbnails = []
    for series_uid in list(ctx.load_headers())[:6]:
        files = next(s.paths for s in ctx.series if s.series_uid == series_uid)
        middle = dcmread(files[len(files) // 2])
        try:
            thumbnails.append(thumbnail_from_dataset(middle))
        except Exception as exc:  # a series whose pixels cannot be shown still gets a report
            log.warning("no thumbnail for series: %s", exc)
    sc = build_summary_card(
        sources,
        ctx.sections,
        thumbnails,
        series_instance_uid=uids["sc_series"],
        sop_instance_uid=uids["sc"],
        series_number=SC_SERIES_NUMBER,
        instance_number=ctx.revision,
        content_datetime=ctx.content_datetime,
        algorithm_name=ALGORITHM_NAME,
        algorithm_version=__version__,
        findings=report,
        hidden_lines=findings_step.shown_lines(ctx.analysis),
        charts=findings_step.card_charts(ctx.analysis),
    )
    segmentations, seg_notes = write_segmentations(
        ctx.analysis,
        ctx.series_headers,
        study_uid=ctx.study_uid,
        revision=ctx.revision,
        output_dir=ctx.output_dir,
        algorithm_name=ALGORITHM_NAME,
        algorithm_version=__version__,
        content_datetime=ctx.content_datetime,
    )
    ctx.notes.extend(seg_notes)
    for index, seg in enumerate(segmentations, start=1):
        key = "SEG" if index == 1 else f"SEG{index}"
        ctx.result_objects[key] = ResultObject(
            ResultKind.SEG, seg.path, seg.sop_class_uid, seg.sop_instance_uid, seg.series_instance_uid
        )
    for kind, ds in ((ResultKind.SR, sr), (ResultKind.SC, sc)):
        path = ctx.output_dir / f"{kind.lower()}-r{ctx.revision}.dcm"
        tmp = path.with_suffix(".tmp")
        ds.save_as(tmp, enforce_file_format=True)
        tmp.replace(path)
        ctx.result_objects[kind.value] = ResultObject(
            kind, path, str(ds.SOPClassUID), str(ds.SOPInstanceUID), str(ds.SeriesInstanceUID)
        )
    ctx.flags = findings_step.study_flags(report, ctx.sections)


Step = Callable[[PipelineContext], None]

#: The steps by name, run in this order by :func:`node.jobs.run.analyse` (with routing in between), each with
#: the cyclic garbage collector paused (:mod:`workers.pipeline.collector`).
STEPS: dict[str, Step] = {
    name: without_collector(step)
    for name, step in (
        ("inventory", step_inventory),
        ("analysis", step_analysis),
        ("criteria", step_criteria),
        ("results", step_results),
    )
}
