"""EBP-1, PATHWAY suggestions and DURO guidance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from workers.criteria import CriteriaResult, StudyContext
from workers.criteria.levels import LevelRange
from workers.criteria.rules_guidance import MSAM_FLAG, duro_msam_2

Run = Callable[..., CriteriaResult]
UID = "1.2.826.0.1.3680043.8.498"
DEFINITE_MR = {
    "exam": "spinal_mri",
    "kind": "epidural_fluid",
    "levels": ["C7", "T2"],
    "enhancement": "absent",
    "continuous_with_subarachnoid": True,
    "series_uid": UID + ".1",
    "sop_instance_uids": [UID + ".2"],
}
SUSPECTED_MR = {
    "exam": "spinal_mri",
    "kind": "epidural_fluid",
    "levels": ["T4", "T6"],
    "enhancement": "present",
}


def ebp(result: CriteriaResult) -> dict[str, Any]:
    out: dict[str, Any] = result.to_json()["ebp"]
    return out


def rules(result: CriteriaResult) -> list[str]:
    return [s.rule for s in result.pathway]


# --- EBP-1 ------------------------------------------------------------------------------------------------
def test_eligible_with_headache_and_definite_leak_and_complete_claim(run: Run) -> None:
    ctx = StudyContext(study_date="20240102", institution_name="Example Hospital")
    out = ebp(run(DEFINITE_MR, context=ctx, orthostatic_headache=True))
    assert (out["eligible"], out["rules"], out["missing"]) == (True, ["EBP-1"], [])
    assert out["claim_missing"] == [] and out["claim_ready"] is True
    item = out["claim"][0]
    assert (item["study_date"], item["institution_name"], item["series_uid"]) == (
        "20240102",
        "Example Hospital",
        UID + ".1",
    )
    assert item["rules"] == ["CSF-LEAK-MR-4"]


def test_finding_claim_items_override_the_context(run: Run) -> None:
    finding = {**DEFINITE_MR, "study_date": "20231111", "institution_name": "Other Clinic"}
    ctx = StudyContext(study_date="20240102", institution_name="Example Hospital")
    item = ebp(run(finding, context=ctx, orthostatic_headache=True))["claim"][0]
    assert (item["study_date"], item["institution_name"]) == ("20231111", "Other Clinic")


def test_missing_claim_items_are_named_but_do_not_change_eligibility(run: Run) -> None:
    out = ebp(run(DEFINITE_MR, orthostatic_headache=True))
    assert out["eligible"] is True and out["claim_ready"] is False
    assert out["claim_missing"] == [
        "findings[0].study_date (0008,0020)",
        "findings[0].institution_name (0008,0080)",
    ]


def test_headache_missing_is_named(run: Run) -> None:
    out = ebp(run(DEFINITE_MR))
    assert out["eligible"] is False and out["missing"] == ["clinical.orthostatic_headache"]


def test_not_eligible_without_headache(run: Run) -> None:
    out = ebp(run(DEFINITE_MR, orthostatic_headache=False))
    assert out["eligible"] is False and out["missing"] == []


@pytest.mark.parametrize("finding", [SUSPECTED_MR, {"exam": "brain_mri", "kind": "diffuse_dural_enhancement"}])
def test_not_eligible_below_definite(run: Run, finding: dict[str, Any]) -> None:
    out = ebp(run(finding, orthostatic_headache=True, opening_pressure_mmh2o=20))
    assert out["eligible"] is False and out["claim"] == []
    assert any("EBP-1 needs DEFINITE" in n for n in out["notes"])


def test_eligible_with_confirmed_ctm_and_automated_support_needs_confirmation(run: Run) -> None:
    finding = {
        "exam": "ct_myelography",
        "kind": "epidural_contrast",
        "dural_defect": True,
        "source": "automated",
    }
    out = ebp(run(finding, orthostatic_headache=True))
    assert out["eligible"] is True and out["needs_confirmation"] is True


# --- PATHWAY ----------------------------------------------------------------------------------------------
def test_pathway_from_nothing_suggests_brain_then_spinal_mri(run: Run) -> None:
    assert rules(run()) == ["PATHWAY-1", "PATHWAY-2"]


def test_pathway_spinal_mri_without_leak_suggests_ri_or_ctm(run: Run) -> None:
    result = run(SUSPECTED_MR, {"exam": "brain_mri", "kind": "diffuse_dural_enhancement"})
    assert rules(result) == ["PATHWAY-4"]
    assert all("consider" in s.text.lower() for s in result.pathway)


def test_pathway_mri_shows_leak(run: Run) -> None:
    assert rules(run(DEFINITE_MR)) == ["PATHWAY-3"]


def test_pathway_after_ri_suggests_ctm(run: Run) -> None:
    ri = {"exam": "ri_cisternography", "kind": "epidural_accumulation", "pattern": "asymmetric"}
    assert rules(run(SUSPECTED_MR, ri, {"exam": "brain_mri", "kind": "subdural_effusion"})) == [
        "PATHWAY-5",
        "PATHWAY-7",
    ]


def test_pathway_headache_absent_does_not_exclude(run: Run) -> None:
    assert "PATHWAY-6" in rules(run(DEFINITE_MR, orthostatic_headache=False))


def test_pathway_uses_exams_performed_from_context(run: Run) -> None:
    ctx = StudyContext(exams_performed=frozenset({"brain_mri", "spinal_mri"}))
    assert rules(run(context=ctx)) == ["PATHWAY-4"]


# --- DURO --------------------------------------------------------------------------------------------------
def test_duro_window_is_the_collection_with_caudal_end_first(run: Run) -> None:
    guidance = run(DEFINITE_MR).to_json()["duro"]["guidance"]
    assert len(guidance) == 1
    g = guidance[0]
    assert g["window"] == ["C7", "T2"] and g["look_first"] == ["T2", "T2"]
    assert g["rules"] == ["DURO-LOC-1", "DURO-LOC-2", "DURO-PROTO-1"]
    assert g["thin_axial_ssfp_covers"] is None


def test_duro_without_levels_uses_the_c7_t3_prior(run: Run) -> None:
    g = run({"exam": "spinal_mri", "kind": "epidural_fluid"}).to_json()["duro"]["guidance"][0]
    assert g["window"] == ["C7", "T3"] and g["rules"] == ["DURO-LOC-1", "DURO-PROTO-1"]


@pytest.mark.parametrize(
    ("context", "covers"),
    [
        (StudyContext(thin_axial_ssfp=False), False),
        (StudyContext(thin_axial_ssfp=True), None),
        (StudyContext(thin_axial_ssfp_coverage=(LevelRange.parse("C6", "T3"),)), True),
        (
            StudyContext(thin_axial_ssfp_coverage=(LevelRange.parse("C6", "C7"), LevelRange.parse("T1", "T2"))),
            True,
        ),
        (StudyContext(thin_axial_ssfp_coverage=(LevelRange.parse("T1", "T4"),)), False),
    ],
)
def test_duro_thin_axial_ssfp_coverage(run: Run, context: StudyContext, covers: bool | None) -> None:
    g = run(DEFINITE_MR, context=context).to_json()["duro"]["guidance"][0]
    assert g["thin_axial_ssfp_covers"] is covers


def test_duro_ignores_ctm_technical_failure_and_subdural(run: Run) -> None:
    result = run(
        {"exam": "ct_myelography", "kind": "epidural_contrast", "continuous_with_puncture_site": True},
        {"exam": "spinal_mri", "kind": "subdural_fluid"},
    )
    assert result.to_json()["duro"]["guidance"] == []


def test_duro_msam_2_flag(run: Run) -> None:
    ctx = StudyContext(anterior_horn_hyperintensity=LevelRange.parse("C3"))
    assert run(DEFINITE_MR, context=ctx).to_json()["duro"]["flags"] == [MSAM_FLAG]
    assert run(context=ctx).to_json()["duro"]["flags"] == []
    low = StudyContext(anterior_horn_hyperintensity=LevelRange.parse("C6", "C7"))
    assert run(DEFINITE_MR, context=low).to_json()["duro"]["flags"] == []


def test_duro_msam_2_function() -> None:
    assert duro_msam_2(LevelRange.parse("C2", "C4"), [None]) == MSAM_FLAG
    assert duro_msam_2(None, [LevelRange.parse("C7")]) is None
    assert "never" not in MSAM_FLAG and "to be considered" in MSAM_FLAG


# --- StudyContext validation -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"study_date": "2024-01-02"}, "StudyContext.study_date"),
        ({"study_date": "20240231"}, "StudyContext.study_date"),
        ({"institution_name": "x" * 65}, "StudyContext.institution_name"),
        ({"spinal_mr_post_contrast": "yes"}, "StudyContext.spinal_mr_post_contrast"),
        ({"thin_axial_ssfp": 1}, "StudyContext.thin_axial_ssfp"),
        ({"thin_axial_ssfp_coverage": ["C7-T3"]}, "StudyContext.thin_axial_ssfp_coverage"),
        (
            {"thin_axial_ssfp": False, "thin_axial_ssfp_coverage": (LevelRange.parse("C7"),)},
            "StudyContext.thin_axial_ssfp",
        ),
        ({"exams_performed": frozenset({"pet"})}, "StudyContext.exams_performed"),
        ({"exams_performed": {"brain_mri"}}, "StudyContext.exams_performed"),
        ({"anterior_horn_hyperintensity": "C3"}, "StudyContext.anterior_horn_hyperintensity"),
    ],
)
def test_study_context_validates(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        StudyContext(**kwargs)
