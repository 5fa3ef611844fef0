"""The person-readable ``spinenode analyse`` text: abnormal findings first, in words."""

from __future__ import annotations

import re

from pydicom.sr.coding import Code

from node.commands.analyse_text import study_text
from workers.results.findings import FindingKind, FindingsReport, NotAssessable, NotGraded, ReportedFinding, Severity
from workers.results.findings_build import build_findings

STUDY = {
    "study_uid": "1.2.3",
    "series": [{}, {}],
    "measurements": [
        {"series_uid": "1.2.3.4", "name": "cord_csa", "level": "C4", "value": 76.6846, "unit": "mm2"},
        {"series_uid": "1.2.3.4", "name": "cord_mscc", "level": "C5", "value": 46.2288, "unit": "%"},
    ],
    "candidates": [{"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"]}],
    "qc": [{"analyser": "canal_fluid", "series_uid": "1.2.3.4", "status": "unreliable", "reason": "motion blur"}],
    "levels": {},
    "criteria": {"csf_leak": {"grade": "NONE"}, "ich_dx": {"grade": "STRONGLY_SUSPECTED"}},
    "segmentations": [],
    "errors": [],
}
COMPRESSION = ReportedFinding(
    key="cord:C5",
    kind=FindingKind.CORD_COMPRESSION,
    headline="Cord compression 46 % at C5",
    severity=Severity.SEVERE,
    concept=Code("1", "99X", "Cord compression"),
    detail="AP diameter 4.3 mm against 8.0 mm above and below",
)


def test_the_finding_leads_before_grades_and_measurements() -> None:
    text = study_text(STUDY, FindingsReport(findings=(COMPRESSION,)))
    lines = text.splitlines()
    assert lines[1] == "Findings:"
    assert lines[2].startswith("  SEVERE: Cord compression 46 % at C5")
    assert text.index("Cord compression") < text.index("Grades:") < text.index("Measurements:")


def test_no_field_names_raw_grades_or_unrounded_values() -> None:
    text = study_text(STUDY, FindingsReport(findings=(COMPRESSION,)))
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), text
    assert "NONE" not in text and "STRONGLY_SUSPECTED" not in text
    assert "Intracranial hypotension diagnosis: strongly suspected" in text
    assert "cord area at C4: 76.7 mm²" in text and "76.6846" not in text
    assert "Spinal MRI: epidural fluid C7–T2" in text


def test_an_unreliable_output_says_why_and_is_listed_as_not_graded() -> None:
    report = FindingsReport(not_assessable=(NotAssessable("Epidural fluid and anterior horns", "motion blur"),))
    text = study_text(STUDY, report)
    assert "No abnormal finding in the outputs that could be assessed" in text
    assert "No abnormal finding from the automated analysis" not in text
    assert "Not assessable (not graded):\n  Epidural fluid and anterior horns: not assessable: motion blur\n" in text
    assert "Epidural fluid and anterior horns (series …1.2.3.4): unreliable: motion blur" in text


def test_a_measurement_of_an_unreliable_output_says_so() -> None:
    study = {
        **STUDY,
        "qc": [{"analyser": "cord_morphometry", "series_uid": "1.2.3.4", "status": "unreliable", "reason": "coarse"}],
    }
    text = study_text(study, FindingsReport())
    assert "cord area at C4: 76.7 mm² — unreliable output, not graded" in text
    assert "cord compression (MSCC) at the narrowest slice (C5): 46.2 % — unreliable output, not graded" in text


def test_the_ratio_at_the_narrowest_slice_is_not_read_as_the_level_mean() -> None:
    # the level's mean AP and RL diameters sit beside a ratio and an MSCC taken at the narrowest slice: said so
    text = study_text(STUDY, FindingsReport())
    assert "cord compression (MSCC) at the narrowest slice (C5): 46.2 %" in text
    assert "cord area at C4: 76.7 mm²" in text, "per-level means keep their plain level"
    assert "cord compression (MSCC) at C5" not in text


def test_a_study_no_analyser_applies_to_is_not_called_normal() -> None:
    report = build_findings(None, None)  # what the pipeline builds when no analyser ran
    text = study_text({**STUDY, "qc": [], "measurements": [], "candidates": []}, report)
    assert "Nothing could be assessed automatically: no automated analysis applies to these series" in text
    assert "No abnormal finding" not in text


def test_a_grade_that_is_not_graded_says_why_not_none() -> None:
    reason = "CT myelography could not be assessed: metal artefact on 9 slices"
    report = FindingsReport(not_graded=(NotGraded("csf_leak", reason),), nothing_assessed=True)
    text = study_text(STUDY, report)
    assert f"  CSF leak: not graded ({reason})" in text
    assert "CSF leak: none" not in text
    assert "Intracranial hypotension diagnosis: strongly suspected" in text, "a given grade stays a grade"


def test_abnormal_grades_and_outputs_not_ok_lead_their_lists() -> None:
    study = {
        **STUDY,
        "criteria": {"csf_leak": {"grade": "NONE"}, "ich": {"grade": "NONE"}, "ich_dx": {"grade": "DEFINITE"}},
        "qc": [
            {"analyser": "vertebral_levels", "series_uid": "1.2.3.5", "status": "ok", "reason": ""},
            {"analyser": "canal_fluid", "series_uid": "1.2.3.4", "status": "unreliable", "reason": "motion blur"},
        ],
    }
    report = FindingsReport(not_graded=(NotGraded("ich", "no brain MRI in the study"),))
    text = study_text(study, report)
    grades = text[text.index("Grades:") :].splitlines()[1:4]
    assert grades == [
        "  Intracranial hypotension diagnosis: definite",
        "  Intracranial hypotension on imaging: not graded (no brain MRI in the study)",
        "  CSF leak: none",
    ]
    assert text.index("Epidural fluid and anterior horns (series") < text.index("Vertebral levels (series")
