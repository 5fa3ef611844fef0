"""The study pipeline on a phantom study: every step, the report, and a failing step that must not cost
the study its report."""

from __future__ import annotations

from pathlib import Path

import pytest
from phantom_pipeline import phantom_context
from pydicom import dcmread

from workers.analysis.contract import measurement_json
from workers.pipeline import STEPS, PipelineContext
from workers.pipeline.candidates import candidates_json
from workers.pipeline.steps import result_uids
from workers.results.validate import dciodvfy_errors


def _context(tmp_path: Path, scenario: str) -> PipelineContext:
    return phantom_context(tmp_path, scenario)


def test_epidural_fluid_phantom_gives_an_automated_grade_needing_confirmation(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "epidural_fluid")
    for name in ("inventory", "analysis", "criteria", "results"):
        STEPS[name](ctx)
    assert {inv.sequence for inv in ctx.inventory.values()} >= {"T2"}
    candidates = candidates_json(ctx.candidate_findings)
    assert any(f["kind"] == "epidural_fluid" and f["source"] == "automated" for f in candidates)
    assert ctx.criteria is not None
    spinal = ctx.criteria.to_json()["per_exam"]["spinal_mri"]
    assert spinal["grade"] != "NONE" and spinal["needs_confirmation"] is True
    for kind in ("SR", "SC"):
        assert dciodvfy_errors(ctx.results[kind]) == [], kind
    sr = dcmread(ctx.results["SR"])
    assert sr.SOPInstanceUID == result_uids(ctx.study_uid, 1)["sr"]
    assert sr.StudyInstanceUID == ctx.study_uid


def test_a_failing_step_is_reported_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection (no real component fails on demand): the criteria engine raises.
    import workers.criteria

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(workers.criteria, "evaluate", broken)
    ctx = _context(tmp_path, "simple")
    STEPS["inventory"](ctx)
    with pytest.raises(RuntimeError):
        STEPS["criteria"](ctx)
    ctx.errors.append("criteria failed: RuntimeError: injected failure")
    STEPS["results"](ctx)
    assert ctx.sections[0].title == "Processing"
    assert dciodvfy_errors(ctx.results["SR"]) == []
    assert "injected failure" in dcmread(ctx.results["SR"]).to_json()


def test_bad_instances_are_left_out_with_a_note_and_the_rest_analysed(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "epidural_fluid")
    biggest = max(ctx.series, key=lambda s: len(s.paths))
    wrong_vr, truncated = biggest.paths[0], biggest.paths[1]
    raw = bytearray(wrong_vr.read_bytes())
    at = raw.index(b"\x20\x00\x0d\x00UI", 132)
    raw[at + 4 : at + 6] = b"US"  # Study Instance UID stored with VR US, as a broken modality did
    wrong_vr.write_bytes(bytes(raw))
    truncated.write_bytes(truncated.read_bytes()[:900])
    for name in ("inventory", "analysis", "criteria", "results"):
        STEPS[name](ctx)
    kept = {p for s in ctx.series for p in s.paths}
    assert wrong_vr not in kept and truncated not in kept
    assert len([e for e in ctx.errors if "left out of the analysis" in e]) == 2
    assert ctx.criteria is not None and ctx.criteria.to_json()["per_exam"]["spinal_mri"]["grade"] != "NONE"
    for kind in ("SR", "SC"):
        assert dciodvfy_errors(ctx.results[kind]) == [], kind
    text = dcmread(ctx.results["SR"]).to_json()
    assert "left out of the analysis" in text and wrong_vr.name in text


def _content_items(items: object) -> list[object]:
    out = []
    for item in items or []:  # type: ignore[attr-defined]
        out.append(item)
        out.extend(_content_items(item.get("ContentSequence")))
    return out


def test_qc_verdicts_reach_the_context_the_sr_and_the_card(tmp_path: Path) -> None:
    import shutil
    import subprocess

    ctx = _context(tmp_path, "cord_compression")
    for name in ("inventory", "analysis", "criteria", "results"):
        STEPS[name](ctx)
    assert {v.analyser for v in ctx.qc} >= {"vertebral_levels", "cord_morphometry"}
    assert all(v.status in ("ok", "unreliable", "failed") for v in ctx.qc)
    assert any((measurement_json(m) or {}).get("name") == "cord_mscc" for m in ctx.measurements)
    sr = dcmread(ctx.results["SR"])
    items = _content_items(sr.ContentSequence)
    verdicts = [
        i.ConceptCodeSequence[0].CodeValue
        for i in items
        if i.ValueType == "CODE" and i.ConceptNameCodeSequence[0].CodeValue == "QC-VERDICT"
    ]
    assert len(verdicts) >= len(ctx.qc) and set(verdicts) <= {"QC-OK", "QC-UNRELIABLE", "QC-FAILED"}
    assert dciodvfy_errors(ctx.results["SR"]) == []
    assert any("Quality: " in line for s in ctx.sections for line in s.lines)  # the card's one line
    if shutil.which("dsr2html"):
        html = subprocess.run(["dsr2html", str(ctx.results["SR"])], capture_output=True, text=True, check=True).stdout
        assert "QC cord_morphometry" in html and "Reliable output" in html
