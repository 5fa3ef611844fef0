"""The pipeline on RI cisternography and CT myelography phantoms: candidates, grades, the SR and the card."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pydicom import dcmread

from workers.phantom import write_phantom
from workers.pipeline import STEPS, PipelineContext, SeriesFiles
from workers.pipeline.candidates import candidates_json
from workers.results.validate import dciodvfy_errors


def _context(tmp_path: Path, *scenarios: str) -> PipelineContext:
    by_series: dict[str, list[Path]] = {}
    study_uid = ""
    for scenario in scenarios:
        study = write_phantom(tmp_path / scenario, scenario, seed=7)
        study_uid = study_uid or study.study_instance_uid
        for f in sorted(study.files):
            ds = dcmread(f)
            if ds.StudyInstanceUID != study_uid:  # both exams in one study: the pipeline leaves out other studies'
                ds.StudyInstanceUID = study_uid
                ds.save_as(f)
            by_series.setdefault(str(ds.SeriesInstanceUID), []).append(f)
    return PipelineContext(
        study_uid=study_uid,
        revision=1,
        series=[SeriesFiles(uid, tuple(paths)) for uid, paths in by_series.items()],
        content_datetime=datetime(2026, 12, 1, 12, 0, 0),
        output_dir=tmp_path / "out",
    )


@pytest.mark.parametrize(
    ("scenario", "exam", "grade", "rule"),
    [
        ("ri_unilateral_localized", "ri_cisternography", "STRONGLY_SUSPECTED", "CSF-LEAK-RI-1"),
        ("ctm_dural_defect", "ct_myelography", "CONFIRMED", "CSF-LEAK-CTM-2"),
    ],
)
def test_automated_grades_need_confirmation_and_the_report_is_valid(tmp_path, scenario, exam, grade, rule) -> None:
    ctx = _context(tmp_path, scenario)
    for name in ("inventory", "analysis", "criteria", "results"):
        STEPS[name](ctx)
    assert {inv.exam for inv in ctx.inventory.values()} == {exam}
    assert [c["exam"] for c in candidates_json(ctx.candidate_findings)] == [exam]
    assert candidates_json(ctx.candidate_findings)[0]["source"] == "automated"
    assert ctx.criteria is not None
    per_exam = (ctx.criteria_json() or {})["per_exam"][exam]
    assert per_exam["grade"] == grade and rule in per_exam["rules"] and per_exam["needs_confirmation"] is True
    assert ctx.criteria_json()["csf_leak"]["needs_confirmation"] is True
    for kind in ("SR", "SC"):
        assert dciodvfy_errors(ctx.results[kind]) == [], kind
    assert any(section.title.startswith(("RI cisternography", "CT myelography")) for section in ctx.sections)


@pytest.mark.parametrize(
    ("scenario", "exam", "reason"),
    [
        ("ri_bone_scan", "ri_cisternography", "not a cisternography"),
        ("ctm_no_contrast", "ct_myelography", "no contrast"),
    ],
)
def test_a_bone_scan_and_a_plain_ct_give_no_grade(tmp_path, scenario, exam, reason) -> None:
    ctx = _context(tmp_path, scenario)
    for name in ("inventory", "analysis", "criteria"):
        STEPS[name](ctx)
    assert ctx.candidate_findings == []
    assert {inv.exam for inv in ctx.inventory.values()} == {None}
    # nothing was read: the leak is not graded (never a "none" a reader takes for no leak), and says why
    leak = ctx.criteria_json()["csf_leak"]
    assert (leak["grade"], leak["graded"]) == ("NONE", False)
    assert [e["exam"] for e in leak["exams_not_assessed"]] == [exam]
    assert reason in leak["not_graded_reason"]
    assert ctx.criteria_json()["exams_performed"] == [], "a plain CT or a bone scan is still no myelogram"


def test_ri_and_spinal_mri_at_the_same_site_combine(tmp_path) -> None:
    # RI-1 (T1-T2, STRONGLY_SUSPECTED) with spinal MRI epidural fluid C7-T2 (SUSPECTED) overlapping: DX-3.
    ctx = _context(tmp_path, "ri_unilateral_localized", "epidural_fluid")
    for name in ("inventory", "analysis", "criteria"):
        STEPS[name](ctx)
    exams = sorted(c["exam"] for c in candidates_json(ctx.candidate_findings))
    assert exams == ["ri_cisternography", "spinal_mri"]
    assert ctx.criteria is not None
    assert ctx.criteria_json()["csf_leak"]["grade"] == "DEFINITE"
    assert "CSF-LEAK-DX-3" in ctx.criteria_json()["csf_leak"]["rules"]


@pytest.mark.parametrize(
    ("scenario", "exam", "reason"),
    [("ctm_metal", "ct_myelography", "metal artefact"), ("ri_low_counts", "ri_cisternography", "counts too low")],
)
def test_an_exam_with_no_ok_output_is_passed_to_the_criteria_as_not_assessed(tmp_path, scenario, exam, reason) -> None:
    from workers.criteria.context import ExamNotAssessed

    ctx = _context(tmp_path, scenario)
    for name in ("inventory", "analysis", "criteria"):
        STEPS[name](ctx)
    assert ctx.criteria is not None and ctx.criteria.context is not None
    (unassessed,) = ctx.criteria.context.exams_not_assessed
    assert isinstance(unassessed, ExamNotAssessed)
    assert unassessed.exam == exam and unassessed.reason.startswith(reason)
    leak = ctx.criteria_json()["csf_leak"]
    assert (leak["grade"], leak["graded"]) == ("NONE", False)


def test_a_normal_exam_that_was_read_is_a_graded_none(tmp_path) -> None:
    ctx = _context(tmp_path, "ri_normal")
    for name in ("inventory", "analysis", "criteria"):
        STEPS[name](ctx)
    assert ctx.criteria is not None and ctx.criteria.context is not None
    assert ctx.criteria.context.exams_not_assessed == ()
    leak = ctx.criteria_json()["csf_leak"]
    assert (leak["grade"], leak["graded"], leak["exams_not_assessed"]) == ("NONE", True, [])


def test_a_leak_seen_on_mri_stays_graded_when_the_ct_myelogram_was_not_assessable(tmp_path) -> None:
    ctx = _context(tmp_path, "epidural_fluid", "ctm_metal")
    for name in ("inventory", "analysis", "criteria"):
        STEPS[name](ctx)
    out = ctx.criteria_json()
    assert out["csf_leak"]["grade"] == "SUSPECTED" and out["csf_leak"]["graded"] is True
    assert [e["exam"] for e in out["csf_leak"]["exams_not_assessed"]] == ["ct_myelography"]
    assert out["per_exam"]["ct_myelography"]["graded"] is False
    assert out["per_exam"]["spinal_mri"]["graded"] is True
