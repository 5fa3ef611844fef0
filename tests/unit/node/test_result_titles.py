"""The result titles: one table (workers.criteria.words) that the worklist, the analyse text and the RIS read."""

from __future__ import annotations

import re

from node.commands.analyse_text import GRADE_KEYS, study_text
from node.ris.fhir import build_diagnostic_report
from node.ris.hl7 import result_name
from node.ris.summary import ReportSummary
from node.web.worklist import grade_items
from workers.criteria.words import RESULT_TITLES, result_title


def test_every_title_is_plain_words_without_a_bare_abbreviation() -> None:
    for key, title in RESULT_TITLES.items():
        assert not re.search(r"\b(ICH|EBP|DX)\b", title), (key, title)
        assert "_" not in title and title[:1].isupper(), (key, title)
    assert RESULT_TITLES["per_exam.ct_myelography"] == RESULT_TITLES["ct_myelography"] == "CSF leak on CT myelography"
    assert result_title("some_new.result") == "some new result"


def test_the_three_views_say_the_same_title() -> None:
    grades = {"csf_leak": "DEFINITE", "ich": "SUSPECTED", "ich_dx": "DEFINITE", "ct_myelography": "DEFINITE"}
    worklist = {g["key"]: g["label"] for g in grade_items({**grades, "ebp_eligible": True})}
    summary = ReportSummary(
        study_instance_uid="1.2.3", accession_number="A1", patient_key="k" * 16, study_date=None, grades=grades
    )
    from node.ris.endpoints import RisEndpointSettings

    fhir = build_diagnostic_report(summary, RisEndpointSettings(name="f", kind="fhir", url="http://127.0.0.1:1/r4"))
    displays = [c["coding"][0]["display"].rsplit(":", 1)[0] for c in fhir["conclusionCode"]]
    study = {"study_uid": "1.2.3", "series": [], "measurements": [], "candidates": [], "qc": [], "segmentations": []}
    study |= {"errors": [], "criteria": {key: {"grade": "DEFINITE"} for key in GRADE_KEYS}}
    text = study_text(study, None)
    for key in grades:
        assert worklist[key] == result_name(key) == RESULT_TITLES[key]
        assert RESULT_TITLES[key] in displays
    assert worklist["ebp_eligible"] == "Epidural blood patch eligible"
    for key in GRADE_KEYS:
        assert f"  {RESULT_TITLES[key]}: definite" in text
