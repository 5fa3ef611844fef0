"""ICH-1..5, the not-applicable rule, and ICH-DX-1..3 with the 60 mmH2O boundary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from workers.criteria import CriteriaResult

Run = Callable[..., CriteriaResult]


def brain(kind: str, **kw: Any) -> dict[str, Any]:
    return {"exam": "brain_mri", "kind": kind, **kw}


DDE = brain("diffuse_dural_enhancement")


def ich(result: CriteriaResult) -> dict[str, Any]:
    out: dict[str, Any] = result.to_json()["ich"]
    return out


def ich_dx(result: CriteriaResult) -> dict[str, Any]:
    out: dict[str, Any] = result.to_json()["ich_dx"]
    return out


def test_ich1_diffuse_dural_enhancement(run: Run) -> None:
    out = ich(run(DDE))
    assert (out["grade"], out["rules"], out["applicable"]) == ("STRONGLY_SUSPECTED", ["ICH-1"], True)
    assert [s["index"] for s in out["supporting"]] == [0]


@pytest.mark.parametrize(
    ("kind", "rule"),
    [
        ("subdural_effusion", "ICH-2"),
        ("venous_plexus_dilation", "ICH-3"),
        ("tonsillar_descent", "ICH-4"),
        ("brainstem_flattening", "ICH-4"),
        ("pituitary_enlargement", "ICH-4"),
    ],
)
def test_single_reference_findings(run: Run, kind: str, rule: str) -> None:
    out = ich(run(brain(kind)))
    assert (out["grade"], out["rules"]) == ("REFERENCE", [rule])


def test_ich5_two_different_reference_findings(run: Run) -> None:
    out = ich(run(brain("subdural_effusion"), brain("pituitary_enlargement")))
    assert (out["grade"], out["rules"]) == ("SUSPECTED", ["ICH-5"])
    assert len(out["supporting"]) == 2


def test_same_reference_sign_twice_counts_once(run: Run) -> None:
    out = ich(run(brain("subdural_effusion"), brain("subdural_effusion", source="automated")))
    assert out["grade"] == "REFERENCE"


def test_ich1_stays_above_ich5(run: Run) -> None:
    out = ich(run(DDE, brain("subdural_effusion"), brain("tonsillar_descent")))
    assert (out["grade"], out["rules"]) == ("STRONGLY_SUSPECTED", ["ICH-1"])


def test_no_brain_findings_no_grade(run: Run) -> None:
    out = ich(run())
    assert (out["grade"], out["rules"], out["applicable"]) == ("NONE", [], True)


def test_absent_dural_enhancement_is_noted_as_not_excluding(run: Run) -> None:
    out = ich(run(brain("subdural_effusion")))
    assert any("does not exclude" in n for n in out["notes"])


@pytest.mark.parametrize("exclusion", ["brain_herniation", "chiari"])
def test_ich_not_applicable_with_herniation_or_chiari(run: Run, exclusion: str) -> None:
    result = run(DDE, brain(exclusion))
    out = ich(result)
    assert out["applicable"] is False
    assert out["grade"] == "NONE" and out["rules"] == []
    assert out["imaging_grade"] == "STRONGLY_SUSPECTED"
    assert [e["kind"] for e in out["excluded_by"]] == [exclusion]
    assert any("not applicable" in n for n in result.notes)


def test_chiari_blocks_ich_dx3_but_not_ich_dx2(run: Run) -> None:
    refs = (brain("tonsillar_descent"), brain("brainstem_flattening"), brain("chiari"))
    assert ich_dx(run(*refs))["grade"] == "NONE"
    assert any("ICH-DX-3 not applied" in n for n in ich_dx(run(*refs))["notes"])
    assert ich_dx(run(*refs, orthostatic_headache=True, opening_pressure_mmh2o=40))["grade"] == "DEFINITE"


# --- ICH-DX ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pressure", "grade", "rules"),
    [
        (60, "CONFIRMED", ["ICH-DX-1"]),
        (59.9, "CONFIRMED", ["ICH-DX-1"]),
        (0, "CONFIRMED", ["ICH-DX-1"]),
        (60.1, "DEFINITE", ["ICH-DX-2"]),
        (61, "DEFINITE", ["ICH-DX-2"]),
    ],
)
def test_60_mmh2o_boundary_with_dural_enhancement(run: Run, pressure: float, grade: str, rules: list[str]) -> None:
    out = ich_dx(run(DDE, orthostatic_headache=True, opening_pressure_mmh2o=pressure))
    assert (out["grade"], out["rules"], out["missing"]) == (grade, rules, [])


@pytest.mark.parametrize(("pressure", "grade"), [(60, "DEFINITE"), (60.5, "NONE"), (120, "NONE")])
def test_60_mmh2o_boundary_without_dural_enhancement(run: Run, pressure: float, grade: str) -> None:
    assert ich_dx(run(orthostatic_headache=True, opening_pressure_mmh2o=pressure))["grade"] == grade


def test_ich_dx2_from_dural_enhancement_with_pressure_missing(run: Run) -> None:
    out = ich_dx(run(DDE, orthostatic_headache=True))
    assert (out["grade"], out["rules"]) == ("DEFINITE", ["ICH-DX-2"])
    assert out["missing"] == ["clinical.opening_pressure_mmh2o"]


def test_without_the_premise_rules_1_and_2_do_not_apply(run: Run) -> None:
    unknown = ich_dx(run(DDE, opening_pressure_mmh2o=30))
    assert unknown["grade"] == "NONE" and unknown["missing"] == ["clinical.orthostatic_headache"]
    absent = ich_dx(run(DDE, orthostatic_headache=False, opening_pressure_mmh2o=30))
    assert absent["grade"] == "NONE" and absent["missing"] == []
    assert any("premise absent" in n for n in absent["notes"])


def test_both_clinical_inputs_missing_are_listed(run: Run) -> None:
    out = ich_dx(run(DDE))
    assert out["missing"] == ["clinical.orthostatic_headache", "clinical.opening_pressure_mmh2o"]


def test_sitting_pressure_is_not_counted(run: Run) -> None:
    out = ich_dx(run(DDE, orthostatic_headache=True, opening_pressure_mmh2o=40, opening_pressure_position="sitting"))
    assert out["grade"] == "DEFINITE"
    assert any("sitting" in n for n in out["notes"])
    lateral = ich_dx(
        run(DDE, orthostatic_headache=True, opening_pressure_mmh2o=40, opening_pressure_position="lateral")
    )
    assert lateral["grade"] == "CONFIRMED"


def test_ich_dx3_two_reference_findings(run: Run) -> None:
    out = ich_dx(run(brain("subdural_effusion"), brain("venous_plexus_dilation")))
    assert (out["grade"], out["rules"]) == ("SUSPECTED", ["ICH-DX-3"])
    single = ich_dx(run(brain("subdural_effusion"), orthostatic_headache=False, opening_pressure_mmh2o=100))
    assert single["grade"] == "NONE"


def test_ich_dx_needs_confirmation_with_automated_enhancement(run: Run) -> None:
    out = ich_dx(
        run(
            brain("diffuse_dural_enhancement", source="automated"),
            orthostatic_headache=True,
            opening_pressure_mmh2o=50,
        )
    )
    assert out["grade"] == "CONFIRMED" and out["needs_confirmation"] is True
