"""evaluate(), the grade order, the readable table and the private code constructor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from workers.criteria import RULESET_VERSION, CriteriaResult, Grade, evaluate, parse_findings
from workers.criteria.codes import _private
from workers.criteria.rules_quant import classify_vb_adc, vb_signal_differential
from workers.criteria.table import render_table

Run = Callable[..., CriteriaResult]


def test_grade_order_and_reference_is_not_abnormal() -> None:
    order = [
        Grade.NONE,
        Grade.REFERENCE,
        Grade.SUSPECTED,
        Grade.STRONGLY_SUSPECTED,
        Grade.DEFINITE,
        Grade.CONFIRMED,
    ]
    assert sorted(order, reverse=True) == order[::-1]
    assert [g.is_abnormal for g in order] == [False, False, True, True, True, True]
    assert Grade.parse("DEFINITE") is Grade.DEFINITE and str(Grade.STRONGLY_SUSPECTED) == "STRONGLY_SUSPECTED"


def test_grade_parse_rejects_unknown_code() -> None:
    with pytest.raises(ValueError, match="unknown grade 'PROBABLE'"):
        Grade.parse("PROBABLE")


def test_evaluate_validates_its_arguments() -> None:
    with pytest.raises(TypeError, match="doc"):
        evaluate({"findings": []})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="context"):
        evaluate(parse_findings({}), {"study_date": "20240101"})  # type: ignore[arg-type]


def test_every_result_names_the_ruleset(run: Run) -> None:
    assert run().to_json()["ruleset"] == RULESET_VERSION
    assert "1." in RULESET_VERSION


def test_findings_list_grades_brain_findings_too(run: Run) -> None:
    out = run({"exam": "brain_mri", "kind": "tonsillar_descent"}, {"exam": "brain_mri", "kind": "chiari"}).to_json()
    assert [(f["grade"], f["rules"]) for f in out["findings"]] == [
        ("REFERENCE", ["ICH-4"]),
        ("NONE", ["ICH (exclusion)"]),
    ]


def test_table_shows_not_applicable_and_notes(run: Run) -> None:
    result = run(
        {"exam": "brain_mri", "kind": "diffuse_dural_enhancement", "source": "automated"},
        {"exam": "brain_mri", "kind": "brain_herniation"},
        {
            "exam": "spinal_mri",
            "kind": "epidural_fluid",
            "enhancement": "not_assessed",
            "source": "automated",
        },
    )
    text = render_table(result)
    assert "not applicable (imaging grade STRONGLY_SUSPECTED)" in text
    assert "Notes:" in text and "enhancement not assessable" in text
    assert "needs confirmation" in text


def test_private_code_values_fit_sh() -> None:
    assert _private("CRIT-X", "x").scheme_designator == "99SPINENODE"
    with pytest.raises(ValueError, match="longer than 16"):
        _private("CRIT-THIS-IS-TOO-LONG", "x")


def test_vb_notes_for_unusual_normal_marrow_and_missing_fat_suppression() -> None:
    assert any("usual 0.30-0.60" in n for n in classify_vb_adc(0.9, 20, 0.8).notes)
    assert any("not given" in n for n in vb_signal_differential("low", "high").notes)


@pytest.mark.parametrize(
    ("doc", "csf", "ich"),
    [
        (
            {
                "findings": [
                    {
                        "exam": "ct_myelography",
                        "kind": "epidural_contrast",
                        "continuous_with_subarachnoid": True,
                        "continuous_with_puncture_site": False,
                    }
                ]
            },
            "CONFIRMED",
            "NONE",
        ),
        (
            {
                "findings": [
                    {"exam": "brain_mri", "kind": "subdural_effusion"},
                    {"exam": "brain_mri", "kind": "brainstem_flattening"},
                ]
            },
            "NONE",
            "SUSPECTED",
        ),
    ],
)
def test_small_documents_end_to_end(doc: dict[str, Any], csf: str, ich: str) -> None:
    out = evaluate(parse_findings(doc)).to_json()
    assert (out["csf_leak"]["grade"], out["ich"]["grade"]) == (csf, ich)
