from __future__ import annotations

import re
from html import unescape
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from web_support import BEARER, Seeded, csrf_of, login

from node.web.forms import document_from_form
from node.web.worklist import badge_class, delivery_summary, qc_lines, sort_worklist
from workers.criteria import FindingsError


def test_worklist_sorted_by_priority_then_newest_with_badges(client: TestClient, seeded: Seeded) -> None:
    login(client)
    html = client.get("/").text
    order = [html.index(f"/studies/{uid}") for uid in (seeded.stat_uid, seeded.reported_uid, seeded.routine_uid)]
    assert order == sorted(order)  # stat, routine, low
    row = html[html.index(f"/studies/{seeded.reported_uid}") :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge severe">severe</span> Cord compression 46 % at C5' in row
    assert "to confirm" in row
    assert "⚠ Vertebral marrow ADC: not assessable: the ADC fit failed" in row
    assert "CSF leak: definite" in row and "DEFINITE" not in row
    assert "Protocol: No thin axial steady-state series over C7–T3" in row
    assert "MISSING" not in html and "none abnormal" not in html
    assert "pacs: dead" in html and "pacs: delivered" in html


def test_an_abnormal_study_leads_the_normal_ones_of_its_priority(client: TestClient, seeded: Seeded) -> None:
    # a routine study received after the reported routine one (a definite leak), with no finding: newest first
    # alone would put it on top; the study with the finding leads its priority
    from datetime import datetime

    from web_support import add_study

    from node.registry.models import StudyState

    normal_uid = "1.2.826.0.1.3680043.8.498.4242"
    with seeded.runtime.registry.session() as s:
        add_study(
            s,
            seeded.runtime.settings.data_dir,
            normal_uid,
            state=StudyState.DELIVERED,
            priority="routine",
            study_description="MR C spine",
            first_received_at=datetime(2026, 11, 20, 11, 0),
            last_received_at=datetime(2026, 11, 20, 11, 0),
        )
    login(client)
    html = client.get("/").text
    order = [html.index(f"/studies/{uid}") for uid in (seeded.stat_uid, seeded.reported_uid, normal_uid)]
    assert order == sorted(order), "stat first, then the routine study with a finding, then the normal routine one"
    rows = [{"priority": "routine", "received_at": "2026-11-02"}, {"priority": "routine", "received_at": "2026-11-01"}]
    rows[1]["grade_items"] = [{"key": "csf_leak"}]
    assert [r["received_at"] for r in sort_worklist(rows)] == ["2026-11-01", "2026-11-02"]


def test_sort_worklist_and_badges() -> None:
    rows = [
        {"priority": "low", "received_at": "2026-11-03"},
        {"priority": "routine", "received_at": "2026-11-01"},
        {"priority": "urgent", "received_at": "2026-11-01"},
        {"priority": "routine", "received_at": "2026-11-02"},
        {"priority": "stat", "received_at": "2026-10-01"},
        {"priority": "odd", "received_at": "2026-11-05"},
    ]
    got = [(r["priority"], r["received_at"]) for r in sort_worklist(rows)]
    assert got == [
        ("stat", "2026-10-01"),
        ("urgent", "2026-11-01"),
        ("routine", "2026-11-02"),
        ("routine", "2026-11-01"),
        ("odd", "2026-11-05"),
        ("low", "2026-11-03"),
    ]
    assert badge_class("CSF leak DEFINITE") == "severe"
    assert badge_class("ADC ≤ 1.21 at L2") == "severe"
    assert badge_class("STRONGLY_SUSPECTED") == "moderate"
    assert badge_class("NONE") == "none"
    assert badge_class("EBP eligible") == "moderate"
    assert badge_class("cord CSA") == "info"
    assert badge_class("CSF leak SUSPECTED") == "moderate"
    assert badge_class("CSF-LEAK-MR-2 MISSING") == "info"
    assert badge_class("no") == "none"


def test_delivery_summary_shows_the_worst_state_of_the_current_revision() -> None:
    row = {
        "revision": 2,
        "deliveries": [
            {"revision": 1, "kind": "results", "destination": "a", "state": "dead"},
            {"revision": 2, "kind": "results", "destination": "a", "state": "delivered"},
            {"revision": 2, "kind": "results", "destination": "b", "state": "pending"},
        ],
    }
    assert delivery_summary(row) == {"text": "a: delivered, b: pending", "class": "moderate"}
    assert delivery_summary({"revision": 1, "deliveries": []})["text"] == "—"
    assert delivery_summary({"revision": 3, "deliveries": row["deliveries"]})["text"] == "earlier revision only"


def test_study_page_shows_grades_candidates_srs_and_deliveries(client: TestClient, seeded: Seeded) -> None:
    login(client)
    html = client.get(f"/studies/{seeded.reported_uid}").text
    assert "DOE, JANE" in html and "PID-4711" in html and "DOE^JANE" not in html, "the name as people write it"
    assert "needs confirmation" in html
    assert f"/studies/{seeded.reported_uid}/candidates/0/confirm" in html
    assert f"/studies/{seeded.reported_uid}/candidates/1/reject" in html
    assert "amended by revision 2" in html and "original" in html and "amends revision 1" in html
    findings = html.index('id="findings"')
    assert findings < html.index("<h2>Grades</h2>") and findings < html.index('id="protocol-notes"')
    assert f"/studies/{seeded.reported_uid}/coded/cord-compression/confirm" in html
    assert seeded.reported_uid not in html.split('id="findings"')[0].split("</h1>")[1].split("</section>")[0]
    assert 'data-revision="2" data-state="delivered"' in html
    assert '<img src="/studies/' in html
    assert client.get("/studies/1.2.999").status_code == 404


def test_summary_card_png_from_the_sc_pixels(client: TestClient, seeded: Seeded) -> None:
    png = client.get(f"/api/studies/{seeded.reported_uid}/card.png", headers=BEARER)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    image = Image.open(BytesIO(png.content))
    assert image.size == (30, 20) and image.getpixel((0, 0)) == (200, 0, 0)
    login(client)
    assert client.get(f"/studies/{seeded.reported_uid}/card.png").content == png.content
    assert client.get(f"/api/studies/{seeded.stat_uid}/card.png", headers=BEARER).status_code == 404


def test_findings_form_saves_and_redirects(client: TestClient, seeded: Seeded) -> None:
    csrf = login(client, "Dr Who")
    uid = seeded.reported_uid
    form = {
        "csrf": csrf,
        "kind": "spinal_mri/epidural_fluid",
        "level_upper": "C7",
        "level_lower": "T2",
        "enhancement": "absent",
        "continuous_with_subarachnoid": "yes",
        "dural_defect": "unknown",
        "orthostatic_headache": "yes",
    }
    response = client.post(f"/studies/{uid}/findings", data=form)
    assert response.status_code == 303 and response.headers["location"].endswith("?msg=saved#top")
    entries = client.get(f"/api/studies/{uid}/findings", headers=BEARER).json()
    assert entries[0]["body"] == {
        "exam": "spinal_mri",
        "kind": "epidural_fluid",
        "levels": ["C7", "T2"],
        "enhancement": "absent",
        "continuous_with_subarachnoid": True,
        "source": "radiologist",
    }
    assert entries[0]["author"] == "Dr Who" and entries[1]["body"] == {"orthostatic_headache": True}
    page = client.get(response.headers["location"].split("#")[0]).text
    assert "Findings saved" in page and "revision 3" in page


def test_findings_form_error_names_the_finding_and_field_in_words_and_keeps_the_input(
    client: TestClient, seeded: Seeded
) -> None:
    csrf = login(client)
    form = {"csrf": csrf, "kind": "spinal_mri/epidural_fluid", "pattern": "asymmetric"}
    response = client.post(f"/studies/{seeded.reported_uid}/findings", data=form)
    assert response.status_code == 422
    error = _form_error(response.text)
    assert (
        error
        == "Finding 1 (Spinal MRI, epidural fluid): pattern does not apply to this kind of finding (leave it empty)"
    )
    assert '<option value="asymmetric" selected>asymmetric</option>' in response.text
    # the JSON API keeps its machine message: one error naming the field path
    document = {"findings": [{"exam": "spinal_mri", "kind": "epidural_fluid", "pattern": "asymmetric"}]}
    api = client.post(f"/api/studies/{seeded.reported_uid}/findings", json=document, headers=BEARER)
    assert api.status_code == 422
    assert api.json()["detail"] == "findings[0].pattern: does not apply to spinal_mri/epidural_fluid: 'asymmetric'"


def _form_error(html: str) -> str:
    match = re.search(r'<p class="alert error" id="form-error">(.*?)</p>', html, re.S)
    assert match, "no form error on the page"
    return unescape(match.group(1))


def test_a_pasted_document_with_a_bad_choice_is_named_in_words(client: TestClient, seeded: Seeded) -> None:
    csrf = login(client)
    raw = '{"findings": [{"exam": "ri_cisternography", "kind": "epidural_accumulation", "pattern": "left"}]}'
    response = client.post(f"/studies/{seeded.reported_uid}/findings", data={"csrf": csrf, "raw_json": raw})
    assert response.status_code == 422
    assert _form_error(response.text) == (
        "Finding 1 (RI cisternography, epidural accumulation): pattern must be one of unilateral localized,"
        " asymmetric, symmetric cervicothoracic or symmetric lumbar, not 'left'"
    )
    api = client.post(f"/api/studies/{seeded.reported_uid}/findings", content=raw, headers=BEARER)
    assert api.status_code == 422 and api.json()["detail"].startswith("findings[0].pattern: Input should be")


def test_withdraw_confirm_reject_and_retry_forms(client: TestClient, seeded: Seeded) -> None:
    csrf = login(client)
    uid = seeded.reported_uid
    assert client.post(f"/studies/{uid}/candidates/0/confirm", data={"csrf": csrf}).status_code == 303
    assert client.post(f"/studies/{uid}/candidates/1/reject", data={"csrf": csrf}).status_code == 303
    assert client.post(f"/studies/{uid}/candidates/1/reject", data={"csrf": csrf}).status_code == 409
    assert client.post(f"/studies/{uid}/candidates/0/maybe", data={"csrf": csrf}).status_code == 404
    entries = client.get(f"/api/studies/{uid}/findings", headers=BEARER).json()
    assert [(e["source"], e["status"]) for e in entries] == [("radiologist", "active"), ("automated", "rejected")]
    assert client.post(f"/studies/{uid}/findings/{entries[0]['id']}/withdraw", data={"csrf": csrf}).status_code == 303
    assert client.post(f"/studies/{uid}/findings/{entries[0]['id']}/withdraw", data={"csrf": csrf}).status_code == 409
    page = client.get(f"/studies/{seeded.stat_uid}").text
    assert "Retry" in page and "association refused" in page
    retry = f"/studies/{seeded.stat_uid}/deliveries/{seeded.delivery_dead_id}/retry"
    assert client.post(retry, data={"csrf": csrf_of(page)}).status_code == 303
    assert client.post(retry, data={"csrf": csrf}).status_code == 303  # pending may be pushed again
    other = f"/studies/{uid}/deliveries/{seeded.delivery_dead_id}/retry"
    assert client.post(other, data={"csrf": csrf}).status_code == 404
    delivered = f"/studies/{uid}/deliveries/{seeded.delivery_ok_id}/retry"
    assert client.post(delivered, data={"csrf": csrf}).status_code == 409


def test_document_from_form_branches() -> None:
    assert document_from_form({"raw_json": '{"findings": []}', "kind": "ignored"}) == {"findings": []}
    assert document_from_form({"exam": "brain_mri", "kind": "chiari"}) == {
        "findings": [{"exam": "brain_mri", "kind": "chiari", "source": "radiologist"}]
    }
    assert document_from_form({"opening_pressure_mmh2o": "55", "opening_pressure_position": "lateral"}) == {
        "clinical": {"opening_pressure_mmh2o": 55.0, "opening_pressure_position": "lateral"}
    }
    assert (
        document_from_form({"kind": "ct_myelography/epidural_contrast", "dural_defect": "no"})["findings"][0][
            "dural_defect"
        ]
        is False
    )


@pytest.mark.parametrize(
    ("form", "needle"),
    [
        ({"raw_json": "{oops"}, "raw_json: not valid JSON"),
        ({"raw_json": "[1]"}, "raw_json: must be a JSON object"),
        ({}, "form: choose an exam"),
        ({"level_upper": "C7"}, "exam: choose the exam and kind"),
        ({"kind": "epidural_fluid"}, "exam: choose the exam for kind"),
        ({"exam": "spinal_mri"}, "kind: choose a kind"),
        ({"kind": "spinal_mri/epidural_fluid", "dural_defect": "maybe"}, "dural_defect: choose yes, no or unknown"),
        ({"opening_pressure_mmh2o": "high"}, "clinical.opening_pressure_mmh2o: must be a number"),
        ({"opening_pressure_mmh2o": "inf"}, "must be a finite number"),
    ],
)
def test_document_from_form_rejects(form: dict[str, str], needle: str) -> None:
    with pytest.raises(FindingsError, match=needle.replace("(", r"\(")):
        document_from_form(form)


def test_qc_verdicts_in_the_api_the_worklist_and_the_study_page(client: TestClient, seeded: Seeded) -> None:
    data = client.get(f"/api/studies/{seeded.reported_uid}", headers=BEARER).json()
    assert [v["status"] for v in data["qc"]] == ["ok", "unreliable", "ok"] and data["not_graded"] == 1
    sr = [r for r in data["results"] if r["kind"] == "SR"]
    assert sr and all(r["qc"][1]["reason"] == "the cord was found on only 3 of 20 slices" for r in sr)
    login(client)
    assert "1 output not graded" in client.get("/").text
    page = client.get(f"/studies/{seeded.reported_uid}").text
    assert "Spinal cord shape and area: unreliable (the cord was found on only 3 of 20 slices), not graded" in page
    assert "cord morphometry" not in page and "cord_morphometry" not in page


def test_the_finding_form_shows_choices_in_words_and_posts_their_codes(client: TestClient, seeded: Seeded) -> None:
    login(client)
    page = client.get(f"/studies/{seeded.reported_uid}").text
    assert '<option value="spinal_mri/epidural_fluid" >epidural fluid</option>' in page
    assert '<option value="not_assessed" >not assessed</option>' in page
    assert '<option value="symmetric_cervicothoracic" >symmetric cervicothoracic</option>' in page
    assert ">not_assessed<" not in page and ">unilateral_localized<" not in page


def test_qc_lines_say_one_verdict_once_with_its_number_of_series() -> None:
    low = {"analyser": "ri_cisternography", "status": "unreliable", "reason": "counts too low"}
    ok = {"analyser": "vertebral_levels", "status": "ok", "reason": ""}
    assert qc_lines([low, low, low, ok]) == [
        "RI cisternography: unreliable (counts too low), not graded — 3 series",
        "Vertebral levels: ok",
    ]


def test_priority_colours_mark_the_badge_not_the_whole_row() -> None:
    from pathlib import Path

    import node.web

    css = (Path(node.web.__file__).parent / "static" / "style.css").read_text(encoding="utf-8")
    rules = [line.split("{")[0].strip() for line in css.splitlines() if "background" in line and "prio-" in line]
    assert rules, "the priority badges have colours"
    assert all(selector.startswith(".prio.prio-") for selector in rules), rules


def test_the_worklist_row_shows_abnormal_grades_before_what_could_not_be_assessed(
    client: TestClient, seeded: Seeded
) -> None:
    login(client)
    html = client.get("/").text
    row = html[html.index(f"/studies/{seeded.reported_uid}") :]
    row = row[: row.index("</tr>")]
    finding, grade = row.index("Cord compression 46 % at C5"), row.index(">CSF leak: definite</span>")
    assert finding < grade < row.index("⚠ Vertebral marrow ADC: not assessable") < row.index("1 output not graded")
