"""One reading order for every view that lists grades: abnormal first, then not graded, then the rest."""

from __future__ import annotations

from ris_summary import summary_of

from node.commands.analyse_text import study_text
from workers.criteria.words import reading_order, result_title
from workers.results.findings import FindingsReport, NotGraded

NO_BRAIN = "no brain MRI in the study"


def test_abnormal_grades_lead_then_those_not_graded_then_the_rest_each_in_the_order_given() -> None:
    grades = [("csf_leak", "NONE"), ("ich", "NONE"), ("spinal_mri", "SUSPECTED"), ("ebp", "REFERENCE")]
    grades += [("ich_dx", "DEFINITE"), ("brain_mri", "NONE")]
    assert reading_order(grades, {"ich", "brain_mri"}) == [
        ("spinal_mri", "SUSPECTED"),
        ("ich_dx", "DEFINITE"),
        ("ich", "NONE"),
        ("brain_mri", "NONE"),
        ("csf_leak", "NONE"),
        ("ebp", "REFERENCE"),
    ]
    assert reading_order([("ich", "SUSPECTED")], {"ich"}) == [("ich", "SUSPECTED")]  # not graded: its code aside


def test_the_ris_lines_and_the_analyse_text_list_grades_in_the_same_reading_order() -> None:
    grades = {"csf_leak": "NONE", "ich": "NONE", "ich_dx": "STRONGLY_SUSPECTED"}
    expected = [name for name, _ in reading_order(grades.items(), {"ich"})]
    assert expected == ["ich_dx", "ich", "csf_leak"]
    summary = summary_of(grades, {"ich": NO_BRAIN})
    assert [name for name, _ in summary.grades_in_reading_order()] == expected
    study = {
        "study_uid": "1.2.3",
        "series": [{}],
        "measurements": [],
        "candidates": [],
        "qc": [],
        "levels": {},
        "criteria": {name: {"grade": code} for name, code in grades.items()},
        "segmentations": [],
        "errors": [],
    }
    text = study_text(study, FindingsReport(not_graded=(NotGraded("ich", NO_BRAIN, exam_absent=True),)))
    lines = text[text.index("Grades:") :].splitlines()[1:]
    assert [line.strip().split(":")[0] for line in lines] == [result_title(name) for name in expected]


def test_the_ris_conclusion_says_the_results_in_the_reading_order_of_the_ris_lines() -> None:
    metal = "CT myelography could not be assessed: metal artefact"
    summary = summary_of(
        {"csf_leak": "NONE", "ich": "SUSPECTED", "ich_dx": "STRONGLY_SUSPECTED", "spinal_mri": "SUSPECTED"},
        {"ich": NO_BRAIN, "csf_leak": metal, "spinal_mri": "its series could not be assessed"},
        flags=["Cord narrowed at C5"],
    )
    lines = [name for name, _ in summary.grades_in_reading_order()]
    assert lines == ["ich_dx", "csf_leak", "ich", "spinal_mri"]
    # The abnormal grade first, then the headline results not graded in the order of the lines (not in the order
    # the reasons were given); an exam not graded is said by the CSF-leak result's reason, a not-graded result's
    # code is never said as a grade.
    assert summary.conclusion().split("; ") == [
        "Cord narrowed at C5",
        "Intracranial hypotension diagnosis: strongly suspected",
        f"CSF leak: not graded: {metal}",
        f"Intracranial hypotension on imaging: not graded: {NO_BRAIN}",
        "reading priority routine",
    ]


def test_the_ris_conclusion_says_no_result_the_ris_lines_do_not_list() -> None:
    summary = summary_of({"csf_leak": "DEFINITE"}, {"ich": NO_BRAIN})
    assert [name for name, _ in summary.grades_in_reading_order()] == ["csf_leak"]
    assert summary.conclusion() == "CSF leak: definite; reading priority routine"
