"""Not graded: a NONE that rests only on exams that could not be assessed is said as such, never as "none"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from workers.criteria import CriteriaResult, StudyContext
from workers.criteria import codes as cc
from workers.criteria.context import ExamNotAssessed
from workers.criteria.sections import criteria_sections

Run = Callable[..., CriteriaResult]
METAL = ExamNotAssessed("ct_myelography", "metal artefact on 9 slices")
LOW_COUNTS = ExamNotAssessed("ri_cisternography", "counts too low")
NO_BRAIN_ANALYSIS = ExamNotAssessed("brain_mri", "the node does not analyse brain MRI")
CTM_ONLY = StudyContext(exams_performed=frozenset({"ct_myelography"}), exams_not_assessed=(METAL,))


def _ctx(performed: set[str], *unassessed: ExamNotAssessed) -> StudyContext:
    return StudyContext(exams_performed=frozenset(performed), exams_not_assessed=unassessed)


def _evaluations(result: CriteriaResult, title: str) -> list[tuple[str, str]]:
    """(concept name, value) of every CODE item of the SR group whose tracking identifier is ``title``."""
    for section in criteria_sections(result, "1.2.3"):
        for group in section.sr_groups:
            items = list(group[0].ContentSequence)
            ident = [i.TextValue for i in items if getattr(i, "ValueType", "") == "TEXT" and i.TextValue == title]
            if ident:
                return [
                    (i.ConceptNameCodeSequence[0].CodeValue, i.ConceptCodeSequence[0].CodeValue)
                    for i in items
                    if i.ValueType == "CODE"
                ]
    raise AssertionError(f"no SR group {title!r}")


def _texts(result: CriteriaResult, concept: str) -> list[str]:
    return [
        str(i.TextValue)
        for s in criteria_sections(result, "1.2.3")
        for g in s.sr_groups
        for i in g[0].ContentSequence
        if i.ValueType == "TEXT" and i.ConceptNameCodeSequence[0].CodeValue == concept
    ]


def test_the_only_exam_not_assessable_leaves_the_leak_not_graded(run: Run) -> None:
    result = run(context=CTM_ONLY)
    out = result.to_json()
    leak, exam = out["csf_leak"], out["per_exam"]["ct_myelography"]
    assert leak["grade"] == "NONE" and exam["grade"] == "NONE", "the contract's grade code stays NONE"
    assert (leak["graded"], exam["graded"]) == (False, False)
    why = "CT myelography could not be assessed: metal artefact on 9 slices"
    assert leak["not_graded_reason"] == why and exam["not_graded_reason"] == why
    assert leak["exams_not_assessed"] == [{"exam": "ct_myelography", "reason": METAL.reason, "text": why}]
    assert out["per_exam"]["spinal_mri"]["graded"] is True, "an exam the study does not hold is not 'not assessed'"
    lines = criteria_sections(result)[0].lines
    assert lines == [f"CSF leak: not graded: {why}"]
    assert any("CSF leak not graded" in n for n in out["ebp"]["notes"])
    assert not any("CSF leak NONE" in n for n in out["ebp"]["notes"])


def test_the_sr_grade_of_a_result_not_graded_is_not_the_none_code(run: Run) -> None:
    result = run(context=CTM_ONLY)
    for title in ("CSF leak (CSF-LEAK-DX)", "CSF leak, CT myelography"):
        grades = [v for n, v in _evaluations(result, title) if n == cc.GRADE.value]
        assert grades == [cc.NOT_GRADED.value], title
    no_brain = "no brain MRI in the study"  # the ICH and ICH-DX groups: a CT myelogram only holds no brain MRI
    # the leak, its exam, ICH, ICH-DX and the blood-patch eligibility that rests on the leak
    assert _texts(result, cc.EXAM_NOT_ASSESSED.value) == [METAL.text, METAL.text, no_brain, no_brain, METAL.text]
    graded = run(context=_ctx({"ct_myelography"}))
    assert [v for n, v in _evaluations(graded, "CSF leak (CSF-LEAK-DX)") if n == cc.GRADE.value] == ["GRD-NONE"]


def test_a_radiologist_finding_of_the_exam_keeps_its_grade(run: Run) -> None:
    # CSF-LEAK-CTM-3: contrast continuous with the puncture site, NONE but read by a person.
    puncture = {"exam": "ct_myelography", "kind": "epidural_contrast", "levels": ["L3", "L4"]}
    puncture["continuous_with_puncture_site"] = True
    out = run(puncture, context=CTM_ONLY).to_json()
    assert out["csf_leak"]["grade"] == "NONE" and out["csf_leak"]["graded"] is True
    assert out["per_exam"]["ct_myelography"]["graded"] is True
    assert out["csf_leak"]["exams_not_assessed"] == []
    leak = {"exam": "ct_myelography", "kind": "epidural_contrast", "levels": ["T4", "T5"], "dural_defect": True}
    confirmed = run(leak, context=CTM_ONLY).to_json()["csf_leak"]
    assert (confirmed["grade"], confirmed["graded"], confirmed["not_graded_reason"]) == ("CONFIRMED", True, "")


def test_a_grade_from_another_exam_stays_and_names_the_exam_not_assessed(run: Run) -> None:
    result = run(context=_ctx({"spinal_mri", "ct_myelography"}, METAL))
    out = result.to_json()
    assert out["csf_leak"]["graded"] is True and out["csf_leak"]["not_graded_reason"] == ""
    assert [e["exam"] for e in out["csf_leak"]["exams_not_assessed"]] == ["ct_myelography"]
    assert out["per_exam"]["ct_myelography"]["graded"] is False
    assert out["per_exam"]["spinal_mri"]["graded"] is True
    (first,) = criteria_sections(result)[0].lines[:1]
    assert first.startswith("CSF leak: NONE") and first.endswith(f"; {METAL.text}")


def test_two_exams_not_assessable_are_both_named(run: Run) -> None:
    out = run(context=_ctx({"ct_myelography", "ri_cisternography"}, LOW_COUNTS, METAL)).to_json()
    assert out["csf_leak"]["graded"] is False
    assert out["csf_leak"]["not_graded_reason"] == f"{LOW_COUNTS.text}; {METAL.text}"


def test_a_brain_mri_not_assessable_leaves_ich_and_ich_dx_not_graded(run: Run) -> None:
    context = _ctx({"brain_mri"}, NO_BRAIN_ANALYSIS)
    result = run(context=context)
    out = result.to_json()
    assert (out["ich"]["grade"], out["ich"]["graded"]) == ("NONE", False)
    assert out["ich"]["not_graded_reason"] == "Brain MRI could not be assessed: the node does not analyse brain MRI"
    assert (out["ich_dx"]["grade"], out["ich_dx"]["graded"]) == ("NONE", False)
    # the CSF-leak exams are not the brain MRI: the leak is not graded because the study holds none of them
    assert [e["exam"] for e in out["csf_leak"]["exams_not_assessed"]] == [
        "spinal_mri",
        "ri_cisternography",
        "ct_myelography",
    ]
    assert "Brain MRI" not in out["csf_leak"]["not_graded_reason"]
    lines = criteria_sections(result)[1].lines
    assert lines[0] == f"Intracranial hypotension on imaging: not graded: {NO_BRAIN_ANALYSIS.text}"
    assert lines[1].startswith("Intracranial hypotension diagnosis: not graded")
    grades = [v for n, v in _evaluations(result, "Intracranial hypotension (ICH)") if n == cc.GRADE.value]
    assert grades == [cc.NOT_GRADED.value]


def test_ich_stays_graded_from_a_brain_finding_or_a_clinical_diagnosis(run: Run) -> None:
    context = _ctx({"brain_mri"}, NO_BRAIN_ANALYSIS)
    effusion = run({"exam": "brain_mri", "kind": "subdural_effusion"}, context=context).to_json()
    assert (effusion["ich"]["grade"], effusion["ich"]["graded"]) == ("REFERENCE", True)
    # ICH-DX-2: orthostatic headache and an opening pressure of 60 mmH2O or less, with no imaging grade.
    clinical = run(context=context, orthostatic_headache=True, opening_pressure_mmh2o=50).to_json()
    assert clinical["ich"]["graded"] is False
    assert (clinical["ich_dx"]["grade"], clinical["ich_dx"]["graded"]) == ("DEFINITE", True)


def test_without_context_every_grade_is_graded(run: Run) -> None:
    out = run().to_json()
    for key in ("csf_leak", "ich", "ich_dx", *out["per_exam"]):
        part = out[key] if key in out else out["per_exam"][key]
        assert (part["graded"], part["not_graded_reason"], part["exams_not_assessed"]) == (True, "", []), key


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exam": "knee_mri", "reason": "x"}, "unknown exam"),
        ({"exam": "ct_myelography", "reason": " "}, "must be words"),
    ],
)
def test_an_exam_not_assessed_needs_a_known_exam_and_a_reason(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ExamNotAssessed(**kwargs)


def test_the_context_takes_only_typed_exams_not_assessed() -> None:
    with pytest.raises(ValueError, match="exams_not_assessed"):
        StudyContext(exams_not_assessed=({"exam": "ct_myelography", "reason": "metal"},))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exams_not_assessed"):
        StudyContext(exams_not_assessed=[METAL])  # type: ignore[arg-type]
    assert CTM_ONLY.not_assessed("ct_myelography") is METAL and CTM_ONLY.not_assessed("spinal_mri") is None


def test_a_study_without_a_brain_mri_leaves_ich_not_graded_and_says_why(run: Run) -> None:
    spine_only = _ctx({"spinal_mri"})
    result = run(context=spine_only)
    out = result.to_json()
    assert (out["ich"]["grade"], out["ich"]["graded"]) == ("NONE", False), "the grade code stays NONE"
    assert out["ich"]["not_graded_reason"] == "no brain MRI in the study"
    assert (out["ich_dx"]["grade"], out["ich_dx"]["graded"]) == ("NONE", False)
    assert out["csf_leak"]["graded"] is True, "the spinal MRI was assessed"
    lines = criteria_sections(result)[1].lines
    assert lines[:2] == [
        "Intracranial hypotension on imaging: not graded: no brain MRI in the study",
        "Intracranial hypotension diagnosis: not graded: no brain MRI in the study",
    ]
    grades = [v for n, v in _evaluations(result, "Intracranial hypotension (ICH)") if n == cc.GRADE.value]
    assert grades == [cc.NOT_GRADED.value]
    # a brain finding entered by a radiologist is read: graded; exams not known (no inventory): graded as before
    entered = run({"exam": "brain_mri", "kind": "subdural_effusion"}, context=spine_only).to_json()
    assert (entered["ich"]["grade"], entered["ich"]["graded"]) == ("REFERENCE", True)
    assert run().to_json()["ich"]["graded"] is True
    with_brain = run(context=_ctx({"spinal_mri", "brain_mri"})).to_json()
    assert with_brain["ich"]["graded"] is True, "a brain MRI with no 'not assessed' verdict is graded"


def test_blood_patch_eligibility_is_not_judged_when_the_leak_was_not_assessed(run: Run) -> None:
    result = run(context=CTM_ONLY, orthostatic_headache=True)
    ebp = result.to_json()["ebp"]
    assert ebp["eligible"] is False, "the contract's boolean stays"
    assert ebp["graded"] is False
    assert ebp["not_graded_reason"] == f"the CSF leak was not assessed: {METAL.text}"
    lines = criteria_sections(result)[2].lines
    assert lines[0] == f"Epidural blood patch: not graded: the CSF leak was not assessed: {METAL.text}"
    assert not any("not eligible" in line for line in lines)
    values = [v for n, v in _evaluations(result, "Epidural blood patch eligibility (EBP-1)") if n == "CRIT-ELIGIBLE"]
    assert values == [cc.NOT_GRADED.value], "neither yes nor no"
    from workers.criteria.table import render_table

    table = render_table(result)
    assert "not eligible" not in table and "the CSF leak was not assessed" in table


def test_blood_patch_not_eligible_only_when_the_study_can_say_so(run: Run) -> None:
    # A leak graded from the spinal MRI (suspected) while the CT myelogram could not be assessed: the CT myelogram
    # alone could have shown a definite leak (CSF-LEAK-CTM-1), so eligibility cannot be judged.
    fluid = {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"]}
    partial = run(fluid, context=_ctx({"spinal_mri", "ct_myelography"}, METAL), orthostatic_headache=True)
    assert partial.to_json()["csf_leak"]["grade"] == "SUSPECTED"
    assert partial.to_json()["ebp"]["graded"] is False
    # orthostatic headache recorded as absent: the rule cannot be met whatever the leak (J007-2 needs it)
    absent = run(context=CTM_ONLY, orthostatic_headache=False).to_json()["ebp"]
    assert (absent["eligible"], absent["graded"], absent["not_graded_reason"]) == (False, True, "")
    # every exam assessed, no leak: a confident "not eligible"
    assessed = run(context=_ctx({"ct_myelography"}), orthostatic_headache=True)
    assert assessed.to_json()["ebp"]["graded"] is True
    assert criteria_sections(assessed)[2].lines[0] == "Epidural blood patch: not eligible (EBP-1)"
    # a definite leak with the headache: eligible, whatever else could not be assessed
    leak = {"exam": "ct_myelography", "kind": "epidural_contrast", "levels": ["T1", "T2"]}
    leak["continuous_with_puncture_site"] = False
    eligible = run(leak, context=_ctx({"ct_myelography", "ri_cisternography"}, LOW_COUNTS), orthostatic_headache=True)
    assert (eligible.ebp.eligible, eligible.ebp.grading.graded) == (True, True)


def test_a_result_not_graded_for_an_exam_the_study_never_held_says_so(run: Run) -> None:
    """ICH on a CT-myelogram-only study is not graded because no brain MRI exists (nothing failed); the leak is not
    graded because the myelogram failed: only the first is ``exam_absent`` (the worklist flags only the second)."""
    gradings = run(context=CTM_ONLY).gradings
    assert gradings["ich"].exam_absent and gradings["ich_dx"].exam_absent
    assert not gradings["csf_leak"].graded and not gradings["csf_leak"].exam_absent
    assert not run(context=_ctx({"ct_myelography"})).gradings["csf_leak"].exam_absent, "graded: nothing absent"


def test_a_study_without_any_exam_that_can_show_a_leak_leaves_the_leak_not_graded(run: Run) -> None:
    # a brain MRI alone: no spinal MRI, RI cisternography or CT myelography was read, so "none" would be unfounded
    result = run(context=_ctx({"brain_mri"}))
    leak = result.to_json()["csf_leak"]
    assert (leak["grade"], leak["graded"]) == ("NONE", False), "the contract's grade code stays NONE"
    assert leak["not_graded_reason"] == "no spinal MRI, RI cisternography or CT myelography in the study"
    assert result.gradings["csf_leak"].exam_absent, "nothing failed: the worklist does not flag it"
    assert criteria_sections(result)[0].lines[0].startswith("CSF leak: not graded: no spinal MRI")
    # the same study with a leak a radiologist entered, or an exam that was read: graded as before
    fluid = {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"], "source": "radiologist"}
    assert run(fluid, context=_ctx({"brain_mri"})).to_json()["csf_leak"]["graded"] is True
    assert run(context=_ctx({"brain_mri", "spinal_mri"})).to_json()["csf_leak"]["graded"] is True
