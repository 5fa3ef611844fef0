"""The study page in words: grades with what their rules say (the rule ID only as a tooltip), finding-form
errors naming the finding and the field a person filled in, and abnormal findings before normal outputs."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from verdict_words import FIELD_NAME, RULE_ID
from web_support import Seeded, login

import workers.criteria
from node.web.form_errors import error_words
from node.web.forms import document_from_form
from workers.criteria import FindingsError, parse_findings
from workers.criteria.rule_words import RULE_WORDS, rule_words


def _text(html: str) -> str:
    """What a person reads: the page without tags and attributes (tooltips are not read at a glance)."""
    body = html.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _section(html: str, start: str, end: str) -> str:
    return html[html.index(start) : html.index(end, html.index(start))]


def test_every_grading_rule_the_engine_names_has_words() -> None:
    source = Path(workers.criteria.__file__).parent
    named = set()
    for module in ("rules_csf.py", "rules_ich.py", "rules_guidance.py", "result.py"):
        text = (source / module).read_text(encoding="utf-8")
        named |= set(re.findall(r'"((?:CSF-LEAK|ICH|EBP)-[A-Z0-9-]+|ICH \(exclusion\))"', text))
    assert len(named) >= 30, named
    assert sorted(named - set(RULE_WORDS)) == []
    for rule, words in RULE_WORDS.items():
        assert not RULE_ID.search(words) and not FIELD_NAME.search(words), (rule, words)
    assert rule_words("CSF-LEAK-MR-4") == (
        "epidural fluid-signal lesion that does not enhance and is continuous with the subarachnoid space"
    )
    assert rule_words("NO-SUCH-RULE-9") == "a criteria rule"


def test_grades_say_what_their_rules_say_with_the_id_as_tooltip(client: TestClient, seeded: Seeded) -> None:
    login(client)
    html = client.get(f"/studies/{seeded.reported_uid}").text
    grades = _section(html, '<table class="grades">', "</table>")
    assert '<span title="rule CSF-LEAK-DX-3">RI cisternography and spinal MRI both positive at the same level' in grades
    assert '<span title="rule CSF-LEAK-MR-4">epidural fluid-signal lesion that does not enhance' in grades
    read = _text(grades)
    assert not RULE_ID.search(read), read
    labels = re.findall(r"<tr><th>([^<]+)</th>", grades)
    # the abnormal grades (CSF leak and its spinal MRI grade) lead, the grades that are none follow
    assert labels[:2] == ["CSF leak", "CSF leak on spinal MRI"]
    assert set(labels[2:]) == {
        "Intracranial hypotension on imaging",
        "Intracranial hypotension diagnosis",
        "Epidural blood patch eligible",
    }


def test_abnormal_findings_and_what_was_not_assessable_lead_the_normal_outputs(
    client: TestClient, seeded: Seeded
) -> None:
    login(client)
    html = client.get(f"/studies/{seeded.reported_uid}").text
    text = _text(html)
    severe = text.index("Cord compression 46 % at C5")
    not_assessable = text.index("Vertebral marrow ADC: not assessable")
    unreliable = text.index("Spinal cord shape and area: unreliable (the cord was found on only 3 of 20 slices)")
    ok = text.index("Vertebral levels: ok")
    measured = text.index("marrow ADC at L2: 0.87 ×10⁻³ mm²/s")
    assert severe < not_assessable < unreliable < ok < measured
    assert unreliable < text.index("Grades") < ok, "normal outputs come after the grades"
    assert "cord area" not in text, "the unreliable cord output's measurement is not shown"


@pytest.mark.parametrize(
    ("document", "words"),
    [
        (
            {"findings": [{"exam": "ri_cisternography", "kind": "epidural_accumulation"}]},
            "Finding 1 (RI cisternography, epidural accumulation): pattern must be given for this kind of finding",
        ),
        (
            {"findings": [{"exam": "spinal_mri", "kind": "epidural_accumulation"}]},
            "Finding 1 (Spinal MRI, epidural accumulation): kind must be one of epidural fluid, subdural fluid or"
            " perineural cyst, not 'epidural_accumulation'",
        ),
        (
            {"findings": [{"exam": "ct_myelography", "kind": "epidural_contrast", "dural_defect": "perhaps"}]},
            "Finding 1 (CT myelography, epidural contrast): dural defect must be yes or no",
        ),
        (
            {"findings": [{"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T13"]}]},
            "Finding 1 (Spinal MRI, epidural fluid): lower level: unknown level 'T13'",
        ),
        (
            {"findings": [{"exam": "spinal_mri", "kind": "epidural_fluid", "side": "left"}]},
            "Finding 1 (Spinal MRI, epidural fluid): 'side' is not something the findings document can hold",
        ),
        (
            {
                "findings": [
                    {"exam": "brain_mri", "kind": "chiari", "id": "a"},
                    {"exam": "brain_mri", "kind": "chiari", "id": "a"},
                ]
            },
            "Finding 2 (Brain MRI, chiari): id 'a' is already used by another finding",
        ),
        (
            {"clinical": {"opening_pressure_position": "standing"}},
            "Clinical details: position at lumbar puncture must be one of supine, lateral or sitting, not 'standing'",
        ),
        ({"findings": [{"kind": "chiari"}]}, "Finding 1 (chiari): exam must be given"),
    ],
)
def test_document_errors_in_words(document: dict[str, Any], words: str) -> None:
    with pytest.raises(FindingsError) as caught:
        parse_findings(document)
    assert error_words(caught.value) == words
    assert re.search(r"\bfindings\[\d+\]|\bclinical\.", str(caught.value)), "the machine message keeps its path"


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"raw_json": "{oops"}, "The JSON document: not valid JSON"),
        ({}, "Choose an exam and a kind, or give clinical data, or paste a JSON document"),
        ({"kind": "epidural_fluid"}, "Exam: choose the exam for kind 'epidural fluid'"),
        ({"exam": "spinal_mri"}, "Kind: choose a kind of finding for exam 'Spinal MRI'"),
        (
            {"kind": "spinal_mri/epidural_fluid", "dural_defect": "maybe"},
            "Finding 1 (Spinal MRI, epidural fluid): dural defect: choose yes, no or unknown",
        ),
        ({"opening_pressure_mmh2o": "high"}, "Clinical details: opening pressure: must be a number, got 'high'"),
    ],
)
def test_form_errors_in_words(form: dict[str, str], words: str) -> None:
    with pytest.raises(FindingsError) as caught:
        document_from_form(form)
    said = error_words(caught.value)
    assert said.startswith(words), said
    assert not FIELD_NAME.search(said.replace("'", " ")) or "raw_json" not in said
    assert "raw_json" not in said and "clinical." not in said and "findings[" not in said
