from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from node.routing.conditions import (
    AttributeCondition,
    GradeCondition,
    ResultConditions,
    SeriesCondition,
    When,
)
from node.routing.facts import StudyFacts

FIESTA = {
    "series_uid": "1.2.3.1",
    "modality": "MR",
    "description": "Ax FIESTA C7-T3",
    "images": 60,
    "plane": "axial",
    "sequence": "SSFP",
    "fat_suppressed": False,
    "contrast": False,
    "b_values": [],
    "slice_thickness_mm": 1.0,
    "region": "cervicothoracic",
}
DWI = {
    **FIESTA,
    "series_uid": "1.2.3.2",
    "description": "Sag DWI",
    "plane": "sagittal",
    "sequence": "DWI",
    "b_values": [0, 800],
    "slice_thickness_mm": 4.0,
    "region": "lumbar",
}


def facts(**kwargs: Any) -> StudyFacts:
    base: dict[str, Any] = {
        "attributes": {
            "Modality": "MR",
            "BodyPartExamined": "CSPINE",
            "StudyDate": "20240305",
            "PatientName": "Secret^Person",
            "0019,10B0": "800",
        },
        "calling_aet": "MRI1",
        "called_aet": "SPINENODE",
        "inventory": [FIESTA, DWI],
    }
    base.update(kwargs)
    return StudyFacts(**base)


def test_attribute_by_keyword() -> None:
    ok, reason = AttributeCondition(keyword="Modality", equals="MR").check(facts())
    assert ok and "Modality='MR'" in reason
    ok, _ = AttributeCondition(keyword="Modality", equals="CT").check(facts())
    assert not ok


def test_attribute_by_standard_tag_uses_its_keyword() -> None:
    condition = AttributeCondition(tag="(0018,0015)", regex="SPINE")
    assert condition.key == "BodyPartExamined"
    assert condition.check(facts())[0]


def test_attribute_by_private_tag() -> None:
    condition = AttributeCondition(tag="0019,10b0", equals=800)
    assert condition.key == "0019,10B0"
    assert condition.check(facts())[0]


def test_attribute_date_range() -> None:
    assert AttributeCondition.model_validate({"keyword": "StudyDate", "range": {"min": "2024-01-01"}}).check(facts())[0]
    assert not AttributeCondition.model_validate({"keyword": "StudyDate", "range": {"max": "2023-12-31"}}).check(
        facts()
    )[0]


def test_patient_values_never_appear_in_reasons() -> None:
    ok, reason = AttributeCondition(keyword="PatientName", regex="Secret").check(facts())
    assert ok
    assert "Secret" not in reason.split(" matches ")[0]
    assert "<patient attribute>" in reason


def test_attribute_needs_exactly_one_name() -> None:
    with pytest.raises(ValidationError, match="exactly one of keyword or tag"):
        AttributeCondition(equals="MR")
    with pytest.raises(ValidationError, match="exactly one of keyword or tag"):
        AttributeCondition(keyword="Modality", tag="0008,0060", equals="MR")


def test_attribute_unknown_keyword_and_bad_tag() -> None:
    with pytest.raises(ValidationError, match="'Modallity' is not a DICOM attribute keyword"):
        AttributeCondition(keyword="Modallity", equals="MR")
    with pytest.raises(ValidationError, match="tag '0008-60' is not of the form GGGG,EEEE"):
        AttributeCondition(tag="0008-60", equals="MR")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"sequence": "SSFP", "plane": "axial"}, True),
        ({"sequence": "SSFP", "plane": "sagittal"}, False),
        ({"b_values": {"contains": 800}}, True),
        ({"b_values": {"range": {"min": 1000}}}, False),
        ({"slice_thickness_mm": {"range": {"max": 1.5}}, "region": {"regex": "thoracic"}}, True),
        ({"contrast": True}, False),
        ({"fat_suppressed": False, "modality": "MR"}, True),
        ({"description": {"contains": "FIESTA"}, "images": {"range": {"min": 50}}}, True),
        ({"series_uid": "1.2.3.9"}, False),
    ],
)
def test_series_condition(spec: dict[str, Any], expected: bool) -> None:
    ok, reason = SeriesCondition.model_validate(spec).check(facts())
    assert ok is expected, reason


def test_series_condition_needs_a_series_satisfying_all_fields_at_once() -> None:
    # SSFP exists (axial) and sagittal exists (DWI) but not a sagittal SSFP
    ok, reason = SeriesCondition.model_validate({"sequence": "SSFP", "plane": "sagittal"}).check(facts())
    assert not ok and "of 2 series" in reason


def test_series_condition_without_inventory_fails() -> None:
    assert not SeriesCondition.model_validate({"sequence": "SSFP"}).check(facts(inventory=[]))[0]


def test_series_condition_validation() -> None:
    with pytest.raises(ValidationError, match="needs at least one field"):
        SeriesCondition()
    with pytest.raises(ValidationError, match="pulse_sequence"):
        SeriesCondition.model_validate({"pulse_sequence": "SSFP"})


RESULT = {
    "csf_leak": {"grade": "DEFINITE", "rules": ["CSF-LEAK-DX-3"], "needs_confirmation": True},
    "per_exam": {"spinal_mri": {"grade": "STRONGLY_SUSPECTED"}},
    "ich": {"grade": "SUSPECTED"},
    "ebp": {"eligible": True},
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"grade": "csf_leak", "at_least": "DEFINITE"}, True),
        ({"grade": "csf_leak", "at_least": "CONFIRMED"}, False),
        ({"grade": "csf_leak", "at_most": "STRONGLY_SUSPECTED"}, False),
        ({"grade": "per_exam.spinal_mri", "equals": "STRONGLY_SUSPECTED"}, True),
        ({"grade": "per_exam.ct_myelography", "equals": "NONE"}, True),
        ({"grade": "ich", "one_of": ["SUSPECTED", "STRONGLY_SUSPECTED"]}, True),
        ({"grade": "ich_dx", "at_least": "SUSPECTED"}, False),
    ],
)
def test_grade_condition(spec: dict[str, Any], expected: bool) -> None:
    ok, reason = GradeCondition.model_validate(spec).check(facts(results=RESULT))
    assert ok is expected, reason


def test_grade_condition_with_unknown_grade_in_results_fails() -> None:
    ok, reason = GradeCondition(grade="ich", at_most="CONFIRMED").check(facts(results={"ich": {"grade": "MAYBE"}}))
    assert not ok and "'MAYBE' is not a grade code" in reason


def test_grade_condition_validation() -> None:
    with pytest.raises(ValidationError, match="grade 'csf' is not one of"):
        GradeCondition(grade="csf", at_least="DEFINITE")
    with pytest.raises(ValidationError, match="grade 'per_exam.mri' is not one of"):
        GradeCondition(grade="per_exam.mri", at_least="DEFINITE")
    with pytest.raises(ValidationError, match="'SURE' is not a grade code"):
        GradeCondition(grade="csf_leak", at_least="SURE")
    with pytest.raises(ValidationError, match="'SURE' is not a grade code"):
        GradeCondition(grade="csf_leak", one_of=["DEFINITE", "SURE"])
    with pytest.raises(ValidationError, match="one_of must not be empty"):
        GradeCondition(grade="csf_leak", one_of=[])
    with pytest.raises(ValidationError, match="needs one of at_least"):
        GradeCondition(grade="csf_leak")


def test_result_conditions_flags_ebp_and_confirmation() -> None:
    conditions = ResultConditions.model_validate(
        {"flags": ["ADC", {"regex": "^CSF leak"}], "ebp_eligible": True, "needs_confirmation": True}
    )
    with_flags = facts(results=RESULT, flags=["CSF leak DEFINITE", "ADC <= 1.21 at L2"])
    assert all(ok for ok, _ in conditions.checks(with_flags))
    without = facts(results={"ebp": {"eligible": False}}, flags=["CSF leak DEFINITE"])
    assert [ok for ok, _ in conditions.checks(without)] == [False, True, False, False]


def test_result_conditions_must_not_be_empty() -> None:
    with pytest.raises(ValidationError, match="results needs grades, flags"):
        ResultConditions()


def test_when_calling_and_called_aet() -> None:
    when = When.model_validate({"calling_aet": ["MRI1", "MRI2"], "called_aet": {"regex": "^SPINE"}})
    assert all(ok for ok, _ in when.checks(facts(), with_results=False))
    other = facts(calling_aet="CT9")
    checks = when.checks(other, with_results=False)
    assert [ok for ok, _ in checks] == [False, True]
    assert "calling AE 'CT9' does not match" in checks[0][1]
    assert not When.model_validate({"calling_aet": {"present": True}}).checks(
        facts(calling_aet=""), with_results=False
    )[0][0]


def test_when_skips_result_conditions_before_results() -> None:
    when = When.model_validate({"results": {"grades": [{"grade": "csf_leak", "at_least": "DEFINITE"}]}})
    assert when.needs_results
    assert when.checks(facts(), with_results=False) == []
    assert len(when.checks(facts(results=RESULT), with_results=True)) == 1


def test_study_facts_validate() -> None:
    with pytest.raises(TypeError, match="attributes must be a mapping"):
        StudyFacts(attributes=[("Modality", "MR")])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="inventory must be a list of dicts"):
        StudyFacts(inventory=["series"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="results must be a dict or None"):
        StudyFacts(results=[])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="flags must be a list of strings"):
        StudyFacts(flags=[1])  # type: ignore[list-item]
