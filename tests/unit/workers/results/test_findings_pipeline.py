"""Findings lead the card and the SR, on the node's own phantoms run through the real pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from phantom_pipeline import run_phantom
from pydicom import dcmread
from pydicom.dataset import Dataset

from workers.pipeline import STEPS, PipelineContext
from workers.results.card import SEVERITY_FILL
from workers.results.validate import dciodvfy_errors


def _run(root: Path, scenario: str) -> PipelineContext:
    return run_phantom(root, scenario)


@pytest.fixture(scope="module")
def compression(tmp_path_factory: pytest.TempPathFactory) -> PipelineContext:
    return _run(tmp_path_factory.mktemp("compression"), "cord_compression")


@pytest.fixture(scope="module")
def marrow(tmp_path_factory: pytest.TempPathFactory) -> PipelineContext:
    return _run(tmp_path_factory.mktemp("marrow"), "marrow_lesion")


def _items(ds: Dataset) -> list[Dataset]:
    out = []
    for item in ds.get("ContentSequence", []):
        out.append(item)
        out += _items(item)
    return out


def _groups(sr: Dataset) -> list[Dataset]:
    return [
        i
        for i in _items(sr)
        if i.get("ValueType") == "CONTAINER" and i.ConceptNameCodeSequence[0].CodeValue == "125007"
    ]


def _finding_type(group: Dataset) -> str | None:
    for item in group.ContentSequence:
        if item.ConceptNameCodeSequence[0].CodeValue == "121071":
            return str(item.ConceptCodeSequence[0].CodeValue)
    return None


def test_compression_leads_flags_card_and_sr(compression: PipelineContext) -> None:
    report = compression.findings_report
    assert report.headlines[0].startswith("Cord compression 4") and "at C5" in report.headlines[0]
    assert compression.flags[0] == report.headlines[0]
    assert not any("MISSING" in f for f in compression.flags), "protocol notes are not flags"
    sr = dcmread(compression.results["SR"])
    groups = _groups(sr)
    assert _finding_type(groups[0]) == "71173004", "the coded finding is the first measurement group"
    sites = [
        i.ConceptCodeSequence[0].CodeMeaning
        for i in groups[0].ContentSequence
        if i.ConceptNameCodeSequence[0].CodeValue == "363698007"
    ]
    assert sites == ["Spinal cord", "C5 vertebra"]
    severity = [
        i.ConceptCodeSequence[0].CodeMeaning
        for i in _items(groups[0])
        if i.ConceptNameCodeSequence[0].CodeValue == "246112005"
    ]
    assert severity == ["Severe"]
    card = dcmread(compression.results["SC"]).pixel_array
    band = card[140:200, 20:140].reshape(-1, 3)
    assert (band == np.array(SEVERITY_FILL["severe"], dtype=np.uint8)).all(axis=1).sum() > 200, "red severity chip"
    for kind in ("SR", "SC"):
        assert dciodvfy_errors(compression.results[kind]) == [], kind


def test_sr_numbers_are_rounded_containers_separate_and_procedure_is_spine(compression: PipelineContext) -> None:
    sr = dcmread(compression.results["SR"])
    items = _items(sr)
    numbers = [str(m.NumericValue) for i in items if i.get("ValueType") == "NUM" for m in i.MeasuredValueSequence]
    assert numbers and all(len(n.replace("-", "").replace(".", "").lstrip("0")) <= 4 for n in numbers), numbers
    assert sr.ContinuityOfContent == "SEPARATE"
    assert {i.ContinuityOfContent for i in items if i.get("ValueType") == "CONTAINER"} == {"SEPARATE"}
    procedures = [
        i.ConceptCodeSequence[0].CodeMeaning
        for i in sr.ContentSequence
        if i.ConceptNameCodeSequence[0].CodeValue == "121058"
    ]
    assert "MR Cervical spine" in procedures and not any("unspecified" in p.lower() for p in procedures)


def test_marrow_lesion_carries_adc_and_the_verdict(marrow: PipelineContext) -> None:
    findings = marrow.findings_report.findings
    suspicious = [f for f in findings if f.kind.value == "marrow_lesion" and f.severity.value == "severe"]
    assert suspicious, [f.label for f in findings]
    assert "ADC 0.7" in suspicious[0].headline and "suspicious for malignancy" in suspicious[0].headline
    assert suspicious[0].verdict is not None and suspicious[0].verdict.value == "VB-ADC-SUSP"
    assert marrow.findings_report.priority == "urgent"
    relevant = [n.rule for n in marrow.findings_report.relevant_notes]
    assert "DURO-PROTO-1" not in relevant, "no leak in question: the steady-state note stays out of the way"
    sr = dcmread(marrow.results["SR"])
    lesion_groups = [g for g in _groups(sr) if _finding_type(g) == "52988006"]
    assert lesion_groups
    verdicts = [
        i.ConceptCodeSequence[0].CodeValue
        for g in lesion_groups
        for i in _items(g)
        if i.ConceptNameCodeSequence[0].CodeValue == "VB-ADC-VERDICT"
    ]
    assert "VB-ADC-SUSP" in verdicts
    assert dciodvfy_errors(marrow.results["SR"]) == []


def _tracking(sr: Dataset) -> dict[str, str]:
    out = {}
    for group in _groups(sr):
        items = list(group.ContentSequence)
        text = next(str(i.TextValue) for i in items if i.ConceptNameCodeSequence[0].CodeValue == "112039")
        uid = next(str(i.UID) for i in items if i.ConceptNameCodeSequence[0].CodeValue == "112040")
        out[text] = uid if text not in out else out[text] + "+" + uid
    return out


def test_an_amendment_keeps_every_tracking_uid(compression: PipelineContext, tmp_path: Path) -> None:
    from dataclasses import replace

    amended = replace(
        compression, revision=2, previous_sr_path=compression.results["SR"], output_dir=tmp_path, result_objects={}
    )
    STEPS["results"](amended)
    first, second = dcmread(compression.results["SR"]), dcmread(amended.results["SR"])
    assert second.SOPInstanceUID != first.SOPInstanceUID
    assert (
        second.PredecessorDocumentsSequence[0]
        .ReferencedSeriesSequence[0]
        .ReferencedSOPSequence[0]
        .ReferencedSOPInstanceUID
        == first.SOPInstanceUID
    )
    assert _tracking(second) == _tracking(first) and len(_tracking(first)) > 5
    assert dciodvfy_errors(amended.results["SR"]) == []


def test_unreliable_analysis_gets_an_sr_and_card_that_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fault injection: on the node's phantoms the cord analyser is reliable, so its real result is given an
    # "unreliable" verdict here (no real input makes it unreliable on demand).
    from workers.analysis.base import QcStatus, QcVerdict
    from workers.analysis.cord.analyser import CordMorphometryAnalyser

    real_run = CordMorphometryAnalyser.run

    def unreliable(self: CordMorphometryAnalyser, inputs: object, context: object) -> object:
        result = real_run(self, inputs, context)  # type: ignore[arg-type]
        uid = inputs.series_uid  # type: ignore[attr-defined]
        result.qc = [QcVerdict(self.name, uid, QcStatus.UNRELIABLE, "cord outline lost on 7 of 24 slices")]
        return result

    monkeypatch.setattr(CordMorphometryAnalyser, "run", unreliable)
    ctx = _run(tmp_path, "cord_compression")
    report = ctx.findings_report
    assert report.findings == (), "an unreliable output is never a finding"
    assert report.not_assessable[0].text == (
        "Spinal cord shape and area: not assessable: cord outline lost on 7 of 24 slices"
    )
    assert ctx.flags == ["Spinal cord shape and area: not assessable"]
    sr = dcmread(ctx.results["SR"])
    texts = [str(i.TextValue) for i in _items(sr) if i.get("ValueType") == "TEXT"]
    assert any("not assessable: cord outline lost" in t for t in texts)
    card = dcmread(ctx.results["SC"]).pixel_array
    amber = np.array([255, 196, 80], dtype=np.uint8)
    assert (card[140:260].reshape(-1, 3) == amber).all(axis=1).sum() > 100, "the not-assessable line in amber"
    assert dciodvfy_errors(ctx.results["SR"]) == [] and dciodvfy_errors(ctx.results["SC"]) == []


def test_segmentations_join_the_study_next_to_the_sr_and_amend_with_it(
    compression: PipelineContext, tmp_path: Path
) -> None:
    from dataclasses import replace

    import highdicom as hd

    seg_keys = [k for k in compression.result_objects if k.startswith("SEG")]
    assert seg_keys, compression.notes
    first = compression.result_objects[seg_keys[0]]
    seg = hd.seg.segread(first.path)
    assert seg.StudyInstanceUID == compression.study_uid and seg.Modality == "SEG"
    assert any("spinal cord" in d.segment_label for d in seg.SegmentSequence)
    assert dciodvfy_errors(first.path) == []
    amended = replace(compression, revision=2, output_dir=tmp_path, result_objects={})
    STEPS["results"](amended)
    again = amended.result_objects[seg_keys[0]]
    assert again.series_instance_uid == first.series_instance_uid, "the same series"
    assert again.sop_instance_uid != first.sop_instance_uid, "a new instance for the amendment"


def _confirmation_items(group: Dataset) -> list[str]:
    return [
        i.ConceptCodeSequence[0].CodeMeaning
        for i in group.ContentSequence
        if i.ValueType == "CODE" and i.ConceptNameCodeSequence[0].CodeMeaning.startswith("Requires confirmation")
    ]


def test_a_grade_on_automated_findings_names_them_and_needs_confirmation(tmp_path: Path) -> None:
    ctx = _run(tmp_path, "ri_asymmetric")
    (leak,) = ctx.findings_report.findings
    assert leak.label == "CSF leak suspected"
    assert leak.detail.endswith("from RI cisternography: epidural accumulation (asymmetric)")
    assert leak.needs_confirmation, "the grade rests on an automated finding nobody has confirmed"
    (group,) = [g for g in _groups(dcmread(ctx.results["SR"])) if _finding_type(g) == "230744007"][:1]
    assert _confirmation_items(group) == ["Yes"]


def test_one_verdict_on_every_view_of_an_ri_study_is_said_once(tmp_path: Path) -> None:
    ctx = _run(tmp_path, "ri_low_counts")
    report = ctx.findings_report
    assert len(report.not_assessable) == 4
    (line,) = report.not_assessable_lines
    assert line.startswith("RI cisternography: not assessable: counts too low") and line.endswith("(4 series)")


@pytest.mark.parametrize(
    ("scenario", "why"),
    [
        ("ctm_metal", "CT myelography could not be assessed: metal artefact"),
        ("ri_low_counts", "RI cisternography could not be assessed: counts too low"),
    ],
)
def test_an_exam_not_assessable_is_not_graded_on_the_card_and_in_the_sr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scenario: str, why: str
) -> None:
    import shutil
    import subprocess
    from typing import Any

    from workers.results import card

    said: list[str] = []
    original = card.paragraph_rows

    def recording(text: str, *args: Any, **kwargs: Any) -> list[card.Row]:  # records what the card writes
        said.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(card, "paragraph_rows", recording)
    ctx = _run(tmp_path, scenario)
    report = ctx.findings_report
    assert report is not None and report.nothing_assessed
    assert [n.result for n in report.not_graded][:1] == ["csf_leak"]
    assert said[0] == report.no_finding_words and said[0].startswith("Nothing could be assessed automatically: ")
    assert not any("No abnormal finding" in s for s in said), said
    assert any(s.startswith(f"CSF leak: not graded: {why}") for s in said), said
    assert not any(s.lower().startswith("csf leak: none") for s in said), said
    (verdict,) = [s for s in said if "not assessable" in s or "quality:" in s.lower()]  # the output: said once
    assert verdict.startswith("⚠ ") and verdict.endswith(tuple(report.not_assessable_lines)), said
    sr = ctx.results["SR"]
    assert dciodvfy_errors(sr) == [] and dciodvfy_errors(ctx.results["SC"]) == []
    dump = subprocess.run(["dsrdump", "+Pl", str(sr)], capture_output=True, text=True, check=True).stdout
    leak_groups = dump.split('"Tracking Identifier")="CSF leak')[1:]
    assert leak_groups, "the CSF-leak groups are in the SR"
    for group in leak_groups:
        head = group.split('"Tracking Identifier")=')[0]
        assert "GRD-NOTGRADED" in head and "GRD-NONE" not in head, head[:300]
        assert f'"Examination could not be assessed")="{why}' in head
    if shutil.which("dsr2html"):
        html = subprocess.run(["dsr2html", str(sr)], capture_output=True, text=True, check=True).stdout
        assert "Not graded: the examination could not be assessed" in html
        assert "CSF leak: none" not in html and "CSF leak: NONE" not in html
