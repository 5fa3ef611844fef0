"""Validation of the findings document: every rejection names the field path and the value."""

from __future__ import annotations

from typing import Any

import pytest

from workers.criteria import FindingsError, parse_findings

EF: dict[str, Any] = {"exam": "spinal_mri", "kind": "epidural_fluid"}
UID = "1.2.826.0.1.3680043.8.498.1"


def _with(**changes: Any) -> dict[str, Any]:
    return {"findings": [{**EF, **changes}]}


def test_contract_example_is_accepted_and_normalised() -> None:
    doc = parse_findings(
        {
            "clinical": {"orthostatic_headache": True, "opening_pressure_mmh2o": 55},
            "findings": [
                {
                    **EF,
                    "levels": ["Th2", "C7/Th1"],
                    "enhancement": "absent",
                    "continuous_with_subarachnoid": True,
                },
                {
                    "exam": "ri_cisternography",
                    "kind": "epidural_accumulation",
                    "pattern": "asymmetric",
                    "levels": ["T1", "T3"],
                },
                {"exam": "ri_cisternography", "kind": "circulation_failure", "cisternal_filling_seen": None},
                {
                    "exam": "ct_myelography",
                    "kind": "epidural_contrast",
                    "continuous_with_puncture_site": False,
                },
                {"exam": "brain_mri", "kind": "chiari", "source": "imported"},
            ],
        }
    )
    assert doc.clinical.opening_pressure_mmh2o == 55
    assert doc.findings[0].level_range is not None and doc.findings[0].level_range.names == ("C7", "T2")
    assert doc.findings[0].source == "radiologist"  # the default
    assert doc.findings[4].source == "imported"


def test_venous_plexus_dilation_may_name_upper_cervical_levels() -> None:
    doc = parse_findings(
        {"findings": [{"exam": "brain_mri", "kind": "venous_plexus_dilation", "levels": ["C1", "C2"]}]}
    )
    assert str(doc.findings[0].level_range) == "C1-C2"


def test_empty_document_means_unknown_clinical_and_no_findings() -> None:
    doc = parse_findings({})
    assert doc.findings == [] and doc.clinical.orthostatic_headache is None


def test_traceability_fields_are_accepted() -> None:
    doc = parse_findings(
        _with(
            id="f1",
            study_instance_uid=UID,
            series_uid=UID + ".2",
            sop_instance_uids=[UID + ".3"],
            confidence=0.8,
            study_date="20240229",
            institution_name="Example Hospital",
            source="automated",
        )
    )
    f = doc.findings[0]
    assert (f.id, f.series_uid, f.sop_instance_uids, f.confidence) == ("f1", UID + ".2", [UID + ".3"], 0.8)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ([], "document: must be a JSON object"),
        ({"findings": {}}, "findings: Input should be a valid list"),
        ({"extra": 1}, "extra: unknown field (value 1)"),
        ({"clinical": {"headache": True}}, "clinical.headache: unknown field"),
        (
            {"clinical": {"orthostatic_headache": "yes"}},
            "clinical.orthostatic_headache: Input should be a valid boolean (value 'yes')",
        ),
        ({"clinical": {"orthostatic_headache": 1}}, "clinical.orthostatic_headache"),
        (
            {"clinical": {"opening_pressure_mmh2o": True}},
            "clinical.opening_pressure_mmh2o: must be a number, got True",
        ),
        (
            {"clinical": {"opening_pressure_mmh2o": "55"}},
            "clinical.opening_pressure_mmh2o: must be a number, got '55'",
        ),
        (
            {"clinical": {"opening_pressure_mmh2o": -1}},
            "clinical.opening_pressure_mmh2o: opening pressure must be 0-1000 mmH2O, got -1",
        ),
        (
            {"clinical": {"opening_pressure_mmh2o": 1001}},
            "clinical.opening_pressure_mmh2o: opening pressure must be",
        ),
        (
            {"clinical": {"opening_pressure_mmh2o": float("inf")}},
            "clinical.opening_pressure_mmh2o: must be a finite number",
        ),
        (
            {"clinical": {"opening_pressure_position": "standing"}},
            "clinical.opening_pressure_position: Input should be",
        ),
        ({"findings": [{"kind": "epidural_fluid"}]}, "findings[0].exam: required field is missing"),
        ({"findings": [{"exam": "spinal_mri"}]}, "findings[0].kind: required field is missing"),
        (
            {"findings": [{"exam": "pet", "kind": "epidural_fluid"}]},
            "findings[0].exam: Input should be 'spinal_mri'",
        ),
        (_with(kind="chiari"), "findings[0].kind: 'chiari' is not a kind of exam 'spinal_mri'"),
        (
            {"findings": [EF, {"exam": "brain_mri", "kind": "epidural_fluid"}]},
            "findings[1].kind: 'epidural_fluid' is not a kind of exam 'brain_mri'",
        ),
        (_with(foo=1), "findings[0].foo: unknown field (value 1)"),
        (_with(levels=["T13"]), "findings[0].levels[0]: unknown level 'T13'"),
        (_with(levels=["C7", "Th13"]), "findings[0].levels[1]: unknown level 'Th13'"),
        (
            _with(levels=["C7/T2"]),
            "findings[0].levels[0]: disc level 'C7/T2' does not join two adjacent vertebrae",
        ),
        (_with(levels=[]), "findings[0].levels: give the upper and lower level (1 or 2 entries), got 0"),
        (
            _with(levels=["C7", "T1", "T2"]),
            "findings[0].levels: give the upper and lower level (1 or 2 entries), got 3",
        ),
        (_with(levels="T1"), "findings[0].levels: Input should be a valid list (value 'T1')"),
        (_with(levels=[5]), "findings[0].levels[0]: level must be a string, got 5"),
        (
            _with(enhancement="maybe"),
            "findings[0].enhancement: Input should be 'absent', 'present' or 'not_assessed' (value 'maybe')",
        ),
        (
            _with(continuous_with_subarachnoid="yes"),
            "findings[0].continuous_with_subarachnoid: Input should be a valid boolean (value 'yes')",
        ),
        (
            _with(source="ai"),
            "findings[0].source: Input should be 'automated', 'radiologist' or 'imported' (value 'ai')",
        ),
        (
            _with(pattern="asymmetric"),
            "findings[0].pattern: does not apply to spinal_mri/epidural_fluid: 'asymmetric'",
        ),
        (
            _with(cisternal_filling_seen=True),
            "findings[0].cisternal_filling_seen: does not apply to spinal_mri/epidural_fluid",
        ),
        (
            _with(continuous_with_puncture_site=False),
            "findings[0].continuous_with_puncture_site: does not apply",
        ),
        (
            {"findings": [{"exam": "brain_mri", "kind": "chiari", "levels": ["C1"]}]},
            "findings[0].levels: does not apply to brain_mri/chiari",
        ),
        (
            {"findings": [{"exam": "ct_myelography", "kind": "epidural_contrast", "enhancement": "absent"}]},
            "findings[0].enhancement: does not apply to ct_myelography/epidural_contrast",
        ),
        (
            {"findings": [{"exam": "ri_cisternography", "kind": "epidural_accumulation"}]},
            "findings[0].pattern: required for ri_cisternography/epidural_accumulation",
        ),
        (
            {"findings": [{"exam": "ri_cisternography", "kind": "epidural_accumulation", "pattern": "tree"}]},
            "findings[0].pattern: Input should be",
        ),
        (_with(series_uid="1.2.03"), "findings[0].series_uid: not a valid DICOM UID: '1.2.03'"),
        (_with(series_uid="1." + "2" * 70), "findings[0].series_uid: not a valid DICOM UID"),
        (_with(study_instance_uid=12), "findings[0].study_instance_uid: UID must be a string, got 12"),
        (
            _with(sop_instance_uids=[UID, "abc"]),
            "findings[0].sop_instance_uids[1]: not a valid DICOM UID: 'abc'",
        ),
        (
            _with(sop_instance_uids=[]),
            "findings[0].sop_instance_uids: must list at least one SOP Instance UID",
        ),
        (_with(confidence=1.5), "findings[0].confidence: confidence must be between 0 and 1, got 1.5"),
        (_with(confidence="high"), "findings[0].confidence: must be a number, got 'high'"),
        (
            _with(study_date="2024-01-02"),
            "findings[0].study_date: study date must be YYYYMMDD, got '2024-01-02'",
        ),
        (_with(study_date="20230230"), "findings[0].study_date: not a calendar date: '20230230'"),
        (_with(institution_name="A\\B"), "findings[0].institution_name: contains a backslash"),
        (_with(institution_name="x" * 65), "findings[0].institution_name: longer than 64 characters"),
        (_with(institution_name="  "), "findings[0].institution_name: must not be empty"),
        (_with(id=""), "findings[0].id: must not be empty"),
        (
            {"findings": [{**EF, "id": "a"}, {**EF, "id": "a"}]},
            "findings[1].id: duplicate id 'a' (also findings[0])",
        ),
    ],
)
def test_invalid_documents_name_the_field_and_value(obj: Any, expected: str) -> None:
    with pytest.raises(FindingsError) as info:
        parse_findings(obj)
    assert expected in str(info.value)


def test_findings_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="findings"):
        parse_findings({"findings": 3})


def test_null_booleans_and_null_enhancement_are_unknown_not_errors() -> None:
    doc = parse_findings(_with(continuous_with_subarachnoid=None, enhancement=None, levels=None))
    assert doc.findings[0].continuous_with_subarachnoid is None and doc.findings[0].level_range is None
