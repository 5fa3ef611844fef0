"""What ``spinenode demo`` prints about the report: findings first, grades in words."""

from __future__ import annotations

from node.commands.demo import report_lines


def test_findings_lead_and_grades_are_words() -> None:
    row = {
        "flags": ["Cord compression 46 % at C5"],
        "grades": {"csf_leak": "NONE", "ich_dx": "STRONGLY_SUSPECTED", "ebp_eligible": False},
    }
    lines = report_lines(row)
    assert lines[0] == "    finding: Cord compression 46 % at C5"
    assert lines[-1] == (
        "    grades: CSF leak: none; Intracranial hypotension diagnosis: strongly suspected; "
        "Epidural blood patch eligible: no"
    )
    assert not any("{" in line or "NONE" in line or "_" in line for line in lines)


def test_no_flag_says_so_in_words() -> None:
    assert report_lines({"flags": [], "grades": {}}) == [
        "    no abnormal finding",
        "    grades: —",
    ]


def test_an_output_not_assessed_is_not_called_a_finding() -> None:
    lines = report_lines({"flags": ["RI cisternography: not assessable"], "grades": {"csf_leak": "NONE"}})
    assert lines == [
        "    no abnormal finding in the outputs that could be assessed",
        "    not assessable (not graded): RI cisternography",
        "    grades: CSF leak: none",
    ]


def test_with_the_stored_report_a_grade_not_graded_and_nothing_assessed_are_said() -> None:
    from workers.results.findings import FindingsReport, NotAssessable, NotGraded

    report = FindingsReport(
        not_assessable=(NotAssessable("CT myelography", "metal artefact", "1.2.3"),),
        not_graded=(NotGraded("csf_leak", "CT myelography could not be assessed: metal artefact"),),
        nothing_assessed=True,
    )
    row = {"flags": ["CT myelography: not assessable"], "grades": {"csf_leak": "NONE", "ich": "NONE"}}
    assert report_lines(row, report) == [
        "    nothing could be assessed automatically: no output passed its quality check",
        "    not assessable (not graded): CT myelography",
        "    grades: CSF leak: not graded; Intracranial hypotension on imaging: none",
    ]
