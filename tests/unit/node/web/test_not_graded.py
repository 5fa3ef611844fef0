"""A study whose only exam could not be assessed (phantom ctm_metal, through the real pipeline) on the worklist,
the study page and what the RIS gets: "not graded" with the reason, never "none"."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from phantom_pipeline import run_phantom
from ris_summary import summary_of
from web_support import add_sr_result, add_study, login

from node.archive.index import grades_of
from node.delivery.send import summary_from_registry
from node.registry.models import Delivery, DeliveryKind, Result, StudyState
from node.ris.endpoints import RisEndpointSettings
from node.ris.fhir import build_diagnostic_report
from node.ris.hl7 import build_oru_r01
from node.runtime import Runtime
from workers.criteria import StudyContext, evaluate, parse_findings
from workers.criteria.context import ExamNotAssessed
from workers.pipeline import PipelineContext
from workers.results.findings import FindingsReport
from workers.results.findings_build import build_findings

WHY = "CT myelography could not be assessed: metal artefact"


@pytest.fixture(scope="module")
def metal(tmp_path_factory: pytest.TempPathFactory) -> PipelineContext:
    return run_phantom(tmp_path_factory.mktemp("metal"), "ctm_metal")


def _store(runtime: Runtime, ctx: PipelineContext) -> tuple[str, int]:
    """The study and its SR result as the job's store writes them (node.jobs.store): summary and grades."""
    assert ctx.findings_report is not None
    return _store_result(runtime, ctx.study_uid, ctx.criteria_json(), ctx.findings_report, ctx.flags, ctx.qc)


def _store_result(
    runtime: Runtime, study_uid: str, criteria: Any, report: FindingsReport, flags: list[str], qc: list[Any]
) -> tuple[str, int]:
    root = runtime.settings.data_dir
    with runtime.registry.session() as s:
        study = add_study(
            s,
            root,
            study_uid,
            state=StudyState.REPORTED,
            priority="routine",
            study_description="CT myelography",
            flags=flags,
            grades=grades_of(criteria),
        )
        summary = {"flags": flags, "criteria": criteria, "findings": report.as_json(), "qc": [v.as_json() for v in qc]}
        add_sr_result(s, root, study, "1.2.826.0.1.3680043.8.498.4242", summary)
        delivery = Delivery(study_id=study.id, revision=1, destination="ris", kind=DeliveryKind.RIS)
        s.add(delivery)
        s.flush()
        return study_uid, delivery.id


def test_worklist_and_study_page_say_not_graded(client: TestClient, runtime: Runtime, metal: PipelineContext) -> None:
    uid, _ = _store(runtime, metal)
    login(client)
    html = client.get("/").text
    row = html[html.index(f"/studies/{uid}") :]
    row = row[: row.index("</tr>")]
    assert "⚠ CT myelography: not assessable: metal artefact" in row
    assert 'class="badge info" title="' + WHY in row and ">CSF leak: not graded</span>" in row
    assert "CSF leak: none" not in row and "no abnormal finding" not in row.lower()
    page = client.get(f"/studies/{uid}").text
    grades = page[page.index('<table class="grades">') :]
    grades = grades[: grades.index("</table>")]
    assert "<th>CSF leak</th>" in grades and ">not graded</span>" in grades and WHY in grades
    assert "<th>Intracranial hypotension on imaging</th>" in grades and "<th>ICH</th>" not in grades


def test_the_ris_gets_not_graded_with_the_reason(runtime: Runtime, metal: PipelineContext) -> None:
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message

    _, delivery_id = _store(runtime, metal)
    with runtime.registry.session() as s:
        delivery = s.get(Delivery, delivery_id)
        assert delivery is not None
        summary = summary_from_registry(s, delivery)
    assert summary.grades["csf_leak"] == "NONE" and summary.not_graded["csf_leak"].startswith(WHY)
    conclusion = summary.conclusion()
    assert f"CSF leak: not graded: {WHY}" in conclusion and "no abnormal finding" not in conclusion
    endpoint = RisEndpointSettings(name="ris", kind="hl7_mllp", host="127.0.0.1", port=2575)
    text = str(build_oru_r01(summary, endpoint, control_id="C9"))
    message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
    assert message.validate() is True
    (leak,) = [s for s in text.split("\r") if s.startswith("OBX") and "|csf_leak^CSF leak^L|" in s]
    fields = leak.split("|")
    assert fields[2] == "ST" and fields[5].startswith(f"not graded: {WHY}") and fields[11] == "X"
    assert "NONE" not in leak
    fhir = build_diagnostic_report(summary, RisEndpointSettings(name="f", kind="fhir", url="http://127.0.0.1:1/r4"))
    codes = {c["text"].split(":")[0]: c for c in fhir["conclusionCode"]}
    assert codes["CSF leak"] == {"text": summary.not_graded_text("csf_leak")}, "no grade code, only why"
    assert codes["CSF leak on CT myelography"] == {"text": summary.not_graded_text("ct_myelography")}
    assert codes["Intracranial hypotension on imaging"] == {"text": summary.not_graded_text("ich")}


def test_a_report_stored_before_not_graded_was_known_reads_as_before(runtime: Runtime, tmp_path: Path) -> None:
    from node.delivery.send import _not_graded

    assert _not_graded(None) == {}
    old = Result(summary={"findings": {"findings": [], "not_assessable": []}})
    assert _not_graded(old) == {}


def test_a_grade_from_the_mri_stays_and_the_page_names_the_exam_not_assessed(
    client: TestClient, runtime: Runtime
) -> None:
    # A radiologist's epidural fluid on spinal MRI (SUSPECTED), the CT myelogram not assessable (metal).
    doc = parse_findings({"findings": [{"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"]}]})
    metal = ExamNotAssessed("ct_myelography", "metal artefact on 9 slices")
    context = StudyContext(exams_performed=frozenset({"spinal_mri", "ct_myelography"}), exams_not_assessed=(metal,))
    result = evaluate(doc, context)
    report = build_findings(None, result)
    uid, _ = _store_result(runtime, "1.2.826.0.1.3680043.8.498.4343", result.to_json(), report, [], [])
    login(client)
    page = client.get(f"/studies/{uid}").text
    grades = page[page.index('<table class="grades">') :]
    grades = grades[: grades.index("</table>")]
    assert ">suspected</span>" in grades, "the leak grade from the MRI finding stays a grade"
    row = grades[grades.index("<th>CSF leak on CT myelography</th>") :]
    assert row[: row.index("</tr>")].count(">not graded</span>") == 1 and metal.text in row
    assert grades.index("<th>CSF leak</th>") < grades.index("<th>CSF leak on CT myelography</th>")


def _findings_card(page: str) -> str:
    card = page[page.index('<section class="card" id="findings">') :]
    return card[: card.index("</section>")]


def test_the_study_page_says_nothing_was_assessed_in_words(
    client: TestClient, runtime: Runtime, metal: PipelineContext
) -> None:
    assert metal.findings_report is not None and metal.findings_report.nothing_assessed
    uid, _ = _store(runtime, metal)
    login(client)
    card = _findings_card(client.get(f"/studies/{uid}").text)
    assert "Nothing could be assessed automatically: no output passed its quality check." in card
    assert "no abnormal finding" not in card.lower()


def test_an_output_not_ok_is_said_once_on_the_study_page_after_the_findings(
    client: TestClient, runtime: Runtime, metal: PipelineContext
) -> None:
    failed = [v for v in metal.qc if v.status != "ok"]
    assert failed and {v.analyser for v in failed} == {"ct_myelography"}
    uid, _ = _store(runtime, metal)
    login(client)
    card = _findings_card(client.get(f"/studies/{uid}").text)
    reason = failed[0].reason
    assert card.count(reason) == 1, card
    verdict = card.index(f"CT myelography: {failed[0].status} ({reason}), not graded")
    assert card.index("Nothing could be assessed automatically") < verdict
    assert "not assessable" not in card, "the verdict line says it: not a second line for the same output"


NO_BRAIN = "no brain MRI in the study"


def test_ich_reads_not_graded_without_a_brain_mri_in_every_view(
    client: TestClient, runtime: Runtime, metal: PipelineContext
) -> None:
    """The CT myelogram holds no brain MRI: ICH is not graded (code NONE) on the page, the worklist, the SR text and
    the RIS; the RIS lists only the exam the study holds."""
    from pydicom import dcmread

    criteria = metal.criteria_json()
    assert (criteria["ich"]["grade"], criteria["ich"]["graded"]) == ("NONE", False)
    assert criteria["ich"]["not_graded_reason"] == NO_BRAIN and criteria["exams_performed"] == ["ct_myelography"]
    uid, delivery_id = _store(runtime, metal)
    login(client)
    html = client.get("/").text
    row = html[html.index(f"/studies/{uid}") :]
    row = row[: row.index("</tr>")]
    assert "CSF leak: not graded" in row, "the failed myelogram is flagged on the row"
    assert "Intracranial hypotension" not in row, "no badge for an exam the study never held: nothing failed"
    page = client.get(f"/studies/{uid}").text
    grades = page[page.index('<table class="grades">') :]
    ich = grades[grades.index("<th>Intracranial hypotension on imaging</th>") :]
    ich = ich[: ich.index("</tr>")]
    assert ">not graded</span>" in ich and NO_BRAIN in ich and ">none</span>" not in ich
    sr = dcmread(metal.results[next(k for k in metal.results if k.lower() == "sr")])
    texts = [str(i.TextValue) for i in _walk(sr) if getattr(i, "ValueType", "") == "TEXT"]
    assert NO_BRAIN in texts
    with runtime.registry.session() as s:
        delivery = s.get(Delivery, delivery_id)
        assert delivery is not None
        summary = summary_from_registry(s, delivery)
    assert set(summary.grades) == {"csf_leak", "ich", "ich_dx", "ct_myelography"}, "only the exam the study holds"
    endpoint = RisEndpointSettings(name="ris", kind="hl7_mllp", host="127.0.0.1", port=2575)
    obx = [s for s in str(build_oru_r01(summary, endpoint, control_id="C9")).split("\r") if s.startswith("OBX")]
    assert not any("spinal_mri" in s or "ri_cisternography" in s for s in obx)
    (ich_obx,) = [s for s in obx if "|ich^Intracranial hypotension on imaging^L|" in s]
    assert ich_obx.split("|")[5] == f"not graded: {NO_BRAIN}" and ich_obx.split("|")[11] == "X"


def _walk(ds: Any) -> Any:
    for item in ds.get("ContentSequence") or []:
        yield item
        yield from _walk(item)


def test_the_ris_lists_abnormal_grades_before_none_and_not_graded() -> None:

    summary = summary_of(
        {"csf_leak": "NONE", "ich": "NONE", "ich_dx": "NONE", "spinal_mri": "SUSPECTED"},
        {"ich": NO_BRAIN},
    )
    assert [n for n, _ in summary.grades_in_reading_order()] == ["spinal_mri", "ich", "csf_leak", "ich_dx"]
    endpoint = RisEndpointSettings(name="ris", kind="hl7_mllp", host="127.0.0.1", port=2575)
    message = str(build_oru_r01(summary, endpoint, control_id="C1")).split("\r")
    obx = [s.split("|")[3].split("^")[0] for s in message if s.startswith("OBX")]
    assert obx[obx.index("spinal_mri") :][:4] == ["spinal_mri", "ich", "csf_leak", "ich_dx"]
    fhir = build_diagnostic_report(summary, RisEndpointSettings(name="f", kind="fhir", url="http://127.0.0.1:1/r4"))
    assert fhir["conclusionCode"][0]["text"] == "CSF leak on spinal MRI: suspected"


def test_the_study_page_says_blood_patch_eligibility_cannot_be_judged(
    client: TestClient, runtime: Runtime, metal: PipelineContext
) -> None:
    ebp = metal.criteria_json()["ebp"]
    assert (ebp["eligible"], ebp["graded"]) == (False, False) and ebp["not_graded_reason"].startswith(
        f"the CSF leak was not assessed: {WHY}"
    )
    uid, _ = _store(runtime, metal)
    login(client)
    page = client.get(f"/studies/{uid}").text
    grades = page[page.index('<table class="grades">') :]
    row = grades[grades.index("<th>Epidural blood patch eligible</th>") :]
    row = row[: row.index("</tr>")]
    assert ">not graded</span>" in row and "the CSF leak was not assessed" in row and ">none</span>" not in row


def test_the_study_page_lists_an_abnormal_grade_before_one_not_graded(client: TestClient, runtime: Runtime) -> None:
    # Brain MRI findings of intracranial hypotension entered; the only exam that could show a leak, the CT
    # myelogram, not assessable (metal): the abnormal grade leads, the leak's "not graded" follows.
    doc = parse_findings(
        {
            "findings": [
                {"exam": "brain_mri", "kind": "diffuse_dural_enhancement"},
                {"exam": "brain_mri", "kind": "subdural_effusion"},
                {"exam": "brain_mri", "kind": "tonsillar_descent"},
            ]
        }
    )
    metal = ExamNotAssessed("ct_myelography", "metal artefact on 9 slices")
    context = StudyContext(exams_performed=frozenset({"brain_mri", "ct_myelography"}), exams_not_assessed=(metal,))
    result = evaluate(doc, context)
    report = build_findings(None, result)
    assert result.to_json()["ich"]["grade"] not in ("NONE", "REFERENCE")
    uid, _ = _store_result(runtime, "1.2.826.0.1.3680043.8.498.4545", result.to_json(), report, [], [])
    login(client)
    page = client.get(f"/studies/{uid}").text
    grades = page[page.index('<table class="grades">') :]
    grades = grades[: grades.index("</table>")]
    leak = grades[grades.index("<th>CSF leak</th>") :]
    assert ">not graded</span>" in leak[: leak.index("</tr>")]
    assert grades.index("<th>Intracranial hypotension on imaging</th>") < grades.index("<th>CSF leak</th>")
