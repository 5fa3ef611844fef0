"""Property tests: adding a finding never lowers a grade; the order of findings never matters."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from workers.criteria import CriteriaResult, evaluate, parse_findings
from workers.criteria.findings import KINDS

LEVEL_TOKENS = [
    "C2",
    "C5",
    "C7",
    "Th1",
    "T1",
    "T2",
    "Th3",
    "T4",
    "T6",
    "T10",
    "L1",
    "L4",
    "S1",
    "C7/T1",
    "C7/Th1",
    "Th1/2",
    "T2/T3",
    "Th12/L1",
    "L5/S1",
]
BOOL = st.sampled_from([True, False, None])
EXCLUSIONS = ("brain_herniation", "chiari")


@st.composite
def finding(draw: st.DrawFn, exclusions: bool = True) -> dict[str, Any]:
    exam = draw(st.sampled_from(sorted(KINDS)))
    kinds = [k for k in KINDS[exam] if exclusions or k not in EXCLUSIONS]
    kind = draw(st.sampled_from(kinds))
    f: dict[str, Any] = {
        "exam": exam,
        "kind": kind,
        "source": draw(st.sampled_from(["automated", "radiologist", "imported"])),
    }
    spinal = exam in ("spinal_mri", "ct_myelography") or kind == "epidural_accumulation"
    if spinal and draw(st.booleans()):
        f["levels"] = draw(st.lists(st.sampled_from(LEVEL_TOKENS), min_size=1, max_size=2))
    if exam == "spinal_mri":
        f["enhancement"] = draw(st.sampled_from(["absent", "present", "not_assessed", None]))
        f["continuous_with_subarachnoid"] = draw(BOOL)
    if exam == "ct_myelography":
        f["continuous_with_subarachnoid"] = draw(BOOL)
        f["continuous_with_puncture_site"] = draw(BOOL)
        f["dural_defect"] = draw(BOOL)
    if kind == "epidural_accumulation":
        f["pattern"] = draw(
            st.sampled_from(["unilateral_localized", "asymmetric", "symmetric_cervicothoracic", "symmetric_lumbar"])
        )
    if kind == "circulation_failure":
        f["cisternal_filling_seen"] = draw(BOOL)
    return f


CLINICAL = st.fixed_dictionaries(
    {
        "orthostatic_headache": BOOL,
        "opening_pressure_mmh2o": st.one_of(st.none(), st.sampled_from([20, 59.9, 60, 60.1, 150])),
    }
)


def _eval(clinical: dict[str, Any], findings: list[dict[str, Any]]) -> CriteriaResult:
    return evaluate(parse_findings({"clinical": clinical, "findings": findings}))


def _grades(result: CriteriaResult) -> dict[str, Any]:
    out = result.to_json()
    grades = {
        "csf_leak": out["csf_leak"]["grade"],
        "ich": out["ich"]["grade"],
        "ich_dx": out["ich_dx"]["grade"],
    }
    grades.update({exam: v["grade"] for exam, v in out["per_exam"].items()})
    return grades


@settings(max_examples=150, deadline=None)
@given(CLINICAL, st.lists(finding(exclusions=False), max_size=6), finding(exclusions=False))
def test_adding_a_finding_never_lowers_a_grade(
    clinical: dict[str, Any], findings: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    from workers.criteria import Grade

    before = _eval(clinical, findings)
    after = _eval(clinical, [*findings, extra])
    for key, grade in _grades(before).items():
        assert Grade[_grades(after)[key]] >= Grade[grade], key
    assert after.ebp.eligible >= before.ebp.eligible


@settings(max_examples=80, deadline=None)
@given(CLINICAL, st.lists(finding(), max_size=6), st.sampled_from(EXCLUSIONS))
def test_any_exclusion_makes_ich_not_applicable(
    clinical: dict[str, Any], findings: list[dict[str, Any]], exclusion: str
) -> None:
    result = _eval(clinical, [*findings, {"exam": "brain_mri", "kind": exclusion}])
    assert result.ich.applicable is False and result.to_json()["ich"]["grade"] == "NONE"


def _signature(result: CriteriaResult) -> dict[str, Any]:
    out = result.to_json()

    def refs(items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(
            (r["exam"], r["kind"], r.get("pattern"), str(r["levels"]), r["grade"], str(r["rules"])) for r in items
        )

    sig: dict[str, Any] = {
        "grades": _grades(result),
        "csf_rules": out["csf_leak"]["rules"],
        "csf_supporting": refs(out["csf_leak"]["supporting"]),
        "csf_confirm": out["csf_leak"]["needs_confirmation"],
        "ich_rules": out["ich"]["rules"],
        "ich_dx": (out["ich_dx"]["rules"], out["ich_dx"]["missing"]),
        "ebp": (out["ebp"]["eligible"], out["ebp"]["missing"], len(out["ebp"]["claim_missing"])),
        "pathway": [p["rule"] for p in out["pathway"]],
    }
    for exam, value in out["per_exam"].items():
        sig[exam] = (sorted(value["rules"]), refs(value["supporting"]), value["needs_confirmation"])
    return sig


@settings(max_examples=150, deadline=None)
@given(CLINICAL, st.lists(finding(), max_size=7), st.randoms(use_true_random=False))
def test_order_of_findings_never_matters(clinical: dict[str, Any], findings: list[dict[str, Any]], rnd: Any) -> None:
    shuffled = list(findings)
    rnd.shuffle(shuffled)
    assert _signature(_eval(clinical, findings)) == _signature(_eval(clinical, shuffled))
