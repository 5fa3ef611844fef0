"""CSF-LEAK-MR, RI, CTM and DX: every branch of every table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from workers.criteria import CriteriaResult, Grade, StudyContext

Run = Callable[..., CriteriaResult]


def mr(**kw: Any) -> dict[str, Any]:
    return {"exam": "spinal_mri", "kind": "epidural_fluid", **kw}


def ri(pattern: str, **kw: Any) -> dict[str, Any]:
    return {"exam": "ri_cisternography", "kind": "epidural_accumulation", "pattern": pattern, **kw}


def circ(seen: bool | None) -> dict[str, Any]:
    return {"exam": "ri_cisternography", "kind": "circulation_failure", "cisternal_filling_seen": seen}


def ctm(**kw: Any) -> dict[str, Any]:
    return {"exam": "ct_myelography", "kind": "epidural_contrast", **kw}


def exam(result: CriteriaResult, name: str) -> dict[str, Any]:
    out: dict[str, Any] = result.to_json()["per_exam"][name]
    return out


# --- CSF-LEAK-MR ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("enhancement", "continuous", "grade", "rule"),
    [
        ("present", False, "SUSPECTED", "CSF-LEAK-MR-1"),
        ("present", None, "SUSPECTED", "CSF-LEAK-MR-1"),
        ("absent", False, "STRONGLY_SUSPECTED", "CSF-LEAK-MR-2"),
        ("absent", None, "STRONGLY_SUSPECTED", "CSF-LEAK-MR-2"),
        ("present", True, "STRONGLY_SUSPECTED", "CSF-LEAK-MR-3"),
        ("absent", True, "DEFINITE", "CSF-LEAK-MR-4"),
    ],
)
def test_mr_table(run: Run, enhancement: str, continuous: bool | None, grade: str, rule: str) -> None:
    result = run(mr(enhancement=enhancement, continuous_with_subarachnoid=continuous, levels=["T1", "T2"]))
    assert exam(result, "spinal_mri")["grade"] == grade
    assert exam(result, "spinal_mri")["rules"] == [rule]
    assert "enhancement not assessable" not in " ".join(result.notes)


@pytest.mark.parametrize("enhancement", ["not_assessed", None, "missing"])
@pytest.mark.parametrize(
    ("continuous", "grade", "rule"),
    [(True, "STRONGLY_SUSPECTED", "CSF-LEAK-MR-3"), (False, "SUSPECTED", "CSF-LEAK-MR-1")],
)
def test_enhancement_not_assessed_blocks_mr2_and_mr4(
    run: Run, enhancement: str | None, continuous: bool, grade: str, rule: str
) -> None:
    finding = mr(continuous_with_subarachnoid=continuous)
    if enhancement != "missing":
        finding["enhancement"] = enhancement
    result = run(finding)
    assert exam(result, "spinal_mri")["grade"] == grade
    assert exam(result, "spinal_mri")["rules"] == [rule]
    assert any("enhancement not assessable" in n for n in result.notes)


def test_no_post_contrast_series_makes_absent_enhancement_unassessable(run: Run) -> None:
    finding = mr(enhancement="absent", continuous_with_subarachnoid=True)
    with_contrast = run(finding, context=StudyContext(spinal_mr_post_contrast=True))
    without = run(finding, context=StudyContext(spinal_mr_post_contrast=False))
    assert exam(with_contrast, "spinal_mri")["grade"] == "DEFINITE"
    assert exam(without, "spinal_mri")["grade"] == "STRONGLY_SUSPECTED"
    assert exam(without, "spinal_mri")["rules"] == ["CSF-LEAK-MR-3"]
    assert any("enhancement not assessable" in n for n in without.notes)


def test_subdural_fluid_is_reported_but_never_graded(run: Run) -> None:
    result = run({"exam": "spinal_mri", "kind": "subdural_fluid", "levels": ["T1"]})
    spinal = exam(result, "spinal_mri")
    assert spinal["grade"] == "NONE" and spinal["rules"] == ["CSF-LEAK-MR-SUBDURAL"]
    assert [r["rules"] for r in spinal["reported"]] == [["CSF-LEAK-MR-SUBDURAL"]]
    assert result.csf_leak.grade == Grade.NONE


def test_perineural_cyst_is_excluded(run: Run) -> None:
    result = run({"exam": "spinal_mri", "kind": "perineural_cyst", "levels": ["S1"]})
    assert exam(result, "spinal_mri")["grade"] == "NONE"
    assert exam(result, "spinal_mri")["rules"] == []
    assert "excluded" in " ".join(exam(result, "spinal_mri")["notes"])
    assert result.csf_leak.grade == Grade.NONE


# --- CSF-LEAK-RI ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pattern", "grade", "rule"),
    [
        ("unilateral_localized", "STRONGLY_SUSPECTED", "CSF-LEAK-RI-1"),
        ("asymmetric", "SUSPECTED", "CSF-LEAK-RI-2"),
        ("symmetric_cervicothoracic", "SUSPECTED", "CSF-LEAK-RI-3"),
        ("symmetric_lumbar", "REFERENCE", "CSF-LEAK-RI-4"),
    ],
)
def test_ri_patterns(run: Run, pattern: str, grade: str, rule: str) -> None:
    result = run(ri(pattern))
    assert exam(result, "ri_cisternography")["grade"] == grade
    assert exam(result, "ri_cisternography")["rules"] == [rule]


@pytest.mark.parametrize(
    ("pattern", "grade", "rule"),
    [
        ("asymmetric", "STRONGLY_SUSPECTED", "CSF-LEAK-RI-5"),
        ("symmetric_cervicothoracic", "STRONGLY_SUSPECTED", "CSF-LEAK-RI-5"),
        ("unilateral_localized", "DEFINITE", "CSF-LEAK-RI-6"),
    ],
)
def test_circulation_failure_raises_one_step(run: Run, pattern: str, grade: str, rule: str) -> None:
    result = run(ri(pattern), circ(True))
    ri_exam = exam(result, "ri_cisternography")
    assert ri_exam["grade"] == grade
    assert ri_exam["rules"] == [rule]
    assert ri_exam["supporting"][0]["rules"][-2:] == ["CSF-LEAK-RI-CIRC", rule]
    assert ri_exam["supporting"][0]["with_findings"] == [1]


@pytest.mark.parametrize("seen", [False, None])
def test_circulation_failure_not_judgeable_never_upgrades(run: Run, seen: bool | None) -> None:
    result = run(ri("unilateral_localized"), circ(seen))
    assert exam(result, "ri_cisternography")["grade"] == "STRONGLY_SUSPECTED"
    assert result.csf_leak.grade == Grade.SUSPECTED
    assert any("not judgeable" in n for n in result.notes)
    assert any("not judgeable" in n for n in exam(result, "ri_cisternography")["notes"])


def test_circulation_failure_alone_is_reported_not_graded(run: Run) -> None:
    result = run(circ(True))
    assert exam(result, "ri_cisternography")["grade"] == "NONE"
    assert exam(result, "ri_cisternography")["rules"] == ["CSF-LEAK-RI-CIRC"]
    assert exam(result, "ri_cisternography")["reported"][0]["rules"] == ["CSF-LEAK-RI-CIRC"]
    assert result.csf_leak.grade == Grade.NONE


def test_reference_accumulation_is_not_upgraded_by_circulation_failure(run: Run) -> None:
    result = run(ri("symmetric_lumbar"), circ(True))
    assert exam(result, "ri_cisternography")["grade"] == "REFERENCE"
    assert result.csf_leak.grade == Grade.NONE


def test_early_bladder_is_reference_only(run: Run) -> None:
    result = run({"exam": "ri_cisternography", "kind": "early_bladder"})
    assert exam(result, "ri_cisternography")["grade"] == "REFERENCE"
    assert exam(result, "ri_cisternography")["rules"] == ["CSF-LEAK-RI-BLADDER"]
    assert result.csf_leak.grade == Grade.NONE
    assert result.to_json()["csf_leak"]["rules"] == ["CSF-LEAK-DX-5"]


# --- CSF-LEAK-CTM --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "grade", "rule"),
    [
        ({"continuous_with_puncture_site": False}, "DEFINITE", "CSF-LEAK-CTM-1"),
        (
            {
                "continuous_with_puncture_site": False,
                "dural_defect": False,
                "continuous_with_subarachnoid": False,
            },
            "DEFINITE",
            "CSF-LEAK-CTM-1",
        ),
        ({"continuous_with_puncture_site": False, "dural_defect": True}, "CONFIRMED", "CSF-LEAK-CTM-2"),
        (
            {"continuous_with_puncture_site": False, "continuous_with_subarachnoid": True},
            "CONFIRMED",
            "CSF-LEAK-CTM-2",
        ),
        ({"dural_defect": True}, "CONFIRMED", "CSF-LEAK-CTM-2"),
    ],
)
def test_ctm_grades(run: Run, fields: dict[str, Any], grade: str, rule: str) -> None:
    result = run(ctm(levels=["T1", "T2"], **fields))
    assert exam(result, "ct_myelography")["grade"] == grade
    assert exam(result, "ct_myelography")["rules"] == [rule]
    assert result.csf_leak.grade == Grade[grade]


@pytest.mark.parametrize("defect", [True, False, None])
def test_ctm_puncture_site_continuity_is_technical_failure(run: Run, defect: bool | None) -> None:
    result = run(ctm(continuous_with_puncture_site=True, dural_defect=defect, continuous_with_subarachnoid=True))
    ct = exam(result, "ct_myelography")
    assert ct["grade"] == "NONE"
    assert ct["reported"][0]["rules"] == ["CSF-LEAK-CTM-3"]
    assert ct["rules"] == ["CSF-LEAK-CTM-3"]
    assert result.csf_leak.grade == Grade.NONE


def test_ctm_unknown_puncture_site_is_not_definite(run: Run) -> None:
    result = run(ctm(levels=["L2"]))
    assert exam(result, "ct_myelography")["grade"] == "NONE"
    assert exam(result, "ct_myelography")["rules"] == []
    assert "technical failure not excluded" in " ".join(exam(result, "ct_myelography")["notes"])


def test_ctm_subdural_contrast_not_counted(run: Run) -> None:
    result = run({"exam": "ct_myelography", "kind": "subdural_contrast", "continuous_with_subarachnoid": True})
    assert exam(result, "ct_myelography")["grade"] == "NONE"
    assert exam(result, "ct_myelography")["reported"][0]["rules"] == ["CSF-LEAK-CTM-4"]
    assert exam(result, "ct_myelography")["rules"] == ["CSF-LEAK-CTM-4"]


# --- CSF-LEAK-DX ---------------------------------------------------------------------------------------
MR_SS = mr(enhancement="absent", levels=["C7", "T2"])  # STRONGLY_SUSPECTED (MR-2)
MR_S = mr(enhancement="present", levels=["C7", "T2"])  # SUSPECTED (MR-1)


def dx(result: CriteriaResult) -> tuple[str, list[str]]:
    leak = result.to_json()["csf_leak"]
    return leak["grade"], leak["rules"]


def test_dx1_confirmed_wins_over_definite(run: Run) -> None:
    result = run(ctm(dural_defect=True), mr(enhancement="absent", continuous_with_subarachnoid=True))
    assert dx(result) == ("CONFIRMED", ["CSF-LEAK-DX-1"])
    assert [s["exam"] for s in result.to_json()["csf_leak"]["supporting"]] == ["ct_myelography"]


def test_dx2_any_definite_finding(run: Run) -> None:
    assert dx(run(mr(enhancement="absent", continuous_with_subarachnoid=True))) == (
        "DEFINITE",
        ["CSF-LEAK-DX-2"],
    )
    assert dx(run(ri("unilateral_localized"), circ(True))) == ("DEFINITE", ["CSF-LEAK-DX-2"])


@pytest.mark.parametrize(
    ("ri_finding", "mr_finding"),
    [
        (ri("unilateral_localized", levels=["T1", "T3"]), MR_SS),  # SS + SS
        (ri("unilateral_localized", levels=["T1", "T3"]), MR_S),  # SS + S
        (ri("asymmetric", levels=["T1", "T3"]), MR_SS),  # S + SS
    ],
)
def test_dx3_same_site_pairs(run: Run, ri_finding: dict[str, Any], mr_finding: dict[str, Any]) -> None:
    result = run(ri_finding, mr_finding)
    assert dx(result) == ("DEFINITE", ["CSF-LEAK-DX-3"])
    assert {s["exam"] for s in result.to_json()["csf_leak"]["supporting"]} == {
        "ri_cisternography",
        "spinal_mri",
    }


def test_dx3_with_ri5_upgraded_accumulation(run: Run) -> None:
    result = run(ri("asymmetric", levels=["T1", "T3"]), circ(True), MR_S)
    assert dx(result) == ("DEFINITE", ["CSF-LEAK-DX-3"])
    assert result.csf_leak_indices == [0, 1, 2]


def test_dx4_same_site_suspected_pair(run: Run) -> None:
    result = run(ri("symmetric_cervicothoracic", levels=["T1", "T3"]), MR_S)
    assert dx(result) == ("SUSPECTED", ["CSF-LEAK-DX-4"])
    assert len(result.csf_leak.supporting) == 2


@pytest.mark.parametrize("finding", [MR_SS, MR_S, ri("unilateral_localized"), ri("asymmetric")])
def test_dx4_one_exam_only(run: Run, finding: dict[str, Any]) -> None:
    assert dx(run(finding)) == ("SUSPECTED", ["CSF-LEAK-DX-4"])


def test_different_sites_do_not_combine(run: Run) -> None:
    result = run(ri("unilateral_localized", levels=["L1", "L3"]), MR_SS)
    assert dx(result) == ("SUSPECTED", ["CSF-LEAK-DX-4"])
    assert any("different sites" in n for n in result.csf_leak.notes)


def test_missing_levels_cannot_make_same_site(run: Run) -> None:
    result = run(ri("unilateral_localized"), MR_SS)
    assert dx(result) == ("SUSPECTED", ["CSF-LEAK-DX-4"])
    assert any("same site not judgeable" in n for n in result.csf_leak.notes)


@pytest.mark.parametrize(
    ("ri_levels", "mr_levels", "same"),
    [
        (["Th1", "Th3"], ["C7", "T1"], True),  # Th vs T
        (["C7/Th1"], ["T1", "T4"], True),  # disc level C7/Th1 includes T1
        (["Th12/L1"], ["L1"], True),
        (["Th1/2"], ["T2", "T5"], True),  # short disc form
        (["T3", "T1"], ["T3"], True),  # order of the pair
        (["C7/Th1"], ["T2", "T4"], False),  # C7-T1 vs T2-T4
        (["Th11"], ["L1", "L2"], False),
    ],
)
def test_same_site_across_level_names(run: Run, ri_levels: list[str], mr_levels: list[str], same: bool) -> None:
    result = run(ri("unilateral_localized", levels=ri_levels), mr(enhancement="absent", levels=mr_levels))
    assert dx(result)[0] == ("DEFINITE" if same else "SUSPECTED")


def test_dx5_nothing_counts(run: Run) -> None:
    result = run(ri("symmetric_lumbar"), {"exam": "ri_cisternography", "kind": "early_bladder"})
    assert dx(result) == ("NONE", ["CSF-LEAK-DX-5"])


@pytest.mark.parametrize(
    "reference",
    [ri("symmetric_lumbar", levels=["C7", "T2"]), {"exam": "ri_cisternography", "kind": "early_bladder"}],
)
def test_reference_never_raises_a_grade(run: Run, reference: dict[str, Any]) -> None:
    base = run(MR_S)
    with_ref = run(MR_S, reference)
    assert dx(with_ref) == dx(base) == ("SUSPECTED", ["CSF-LEAK-DX-4"])
    assert exam(with_ref, "spinal_mri")["grade"] == "SUSPECTED"
    assert exam(with_ref, "ri_cisternography")["grade"] == "REFERENCE"


def test_needs_confirmation_when_any_supporting_finding_is_automated(run: Run) -> None:
    auto = run(mr(enhancement="absent", continuous_with_subarachnoid=True, source="automated"))
    person = run(mr(enhancement="absent", continuous_with_subarachnoid=True, source="imported"))
    assert auto.to_json()["csf_leak"]["needs_confirmation"] is True
    assert auto.to_json()["per_exam"]["spinal_mri"]["needs_confirmation"] is True
    assert person.to_json()["csf_leak"]["needs_confirmation"] is False
    mixed = run(ri("unilateral_localized", levels=["T1"], source="automated"), circ(True))
    assert mixed.to_json()["csf_leak"]["needs_confirmation"] is True
    circ_auto = run(ri("unilateral_localized"), {**circ(True), "source": "automated"})
    assert circ_auto.to_json()["csf_leak"]["needs_confirmation"] is True
