"""ICH and ICH-DX: intracranial hypotension (低髄液圧症) on brain MRI (seed ``001_b063a687062f3e23.txt``).

ICH-1..5 grade the brain MRI findings; brain herniation or Chiari malformation makes the ICH grade not
applicable (their exclusion is mandatory in the source). ICH-DX-1..3 are the diagnostic criteria: the
premise is orthostatic headache; the CSF opening pressure counts when it is <= 60 mmH2O measured supine
or lateral.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.criteria.findings import Clinical, Finding
from workers.criteria.grades import Grade

G = Grade

#: Brain MRI finding kind -> grade and rule (ICH-1..4).
ICH_TABLE: dict[str, tuple[Grade, str]] = {
    "diffuse_dural_enhancement": (G.STRONGLY_SUSPECTED, "ICH-1"),
    "subdural_effusion": (G.REFERENCE, "ICH-2"),
    "venous_plexus_dilation": (G.REFERENCE, "ICH-3"),
    "tonsillar_descent": (G.REFERENCE, "ICH-4"),
    "brainstem_flattening": (G.REFERENCE, "ICH-4"),
    "pituitary_enlargement": (G.REFERENCE, "ICH-4"),
}
#: Findings whose presence makes the ICH grade not applicable.
ICH_EXCLUSIONS: tuple[str, ...] = ("brain_herniation", "chiari")
OPENING_PRESSURE_LIMIT_MMH2O = 60.0
NOTE_NO_DURAL_ENHANCEMENT = (
    "no diffuse dural enhancement recorded: this does not exclude intracranial hypotension (it may be"
    " missing early; repeating the exam after some weeks is suggested)"
)


@dataclass(frozen=True)
class IchResult:
    """ICH-1..5. ``grade`` is NONE when not applicable; ``imaging_grade`` is what the findings alone give."""

    grade: Grade
    rules: tuple[str, ...]
    supporting: tuple[int, ...]
    applicable: bool
    imaging_grade: Grade
    excluded_by: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class IchDxResult:
    """ICH-DX-1..3 with the clinical inputs that were missing (``clinical.<key>``)."""

    grade: Grade
    rules: tuple[str, ...]
    supporting: tuple[int, ...]
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()


def _brain(findings: list[Finding]) -> list[tuple[int, Finding]]:
    return [(i, f) for i, f in enumerate(findings) if f.exam == "brain_mri"]


def reference_findings(findings: list[Finding]) -> list[tuple[int, Finding]]:
    """Brain MRI findings graded REFERENCE (ICH-2..4)."""
    return [(i, f) for i, f in _brain(findings) if ICH_TABLE.get(f.kind, (G.NONE, ""))[0] == G.REFERENCE]


def distinct_reference_kinds(findings: list[Finding]) -> set[str]:
    """Different REFERENCE signs; the same sign recorded twice counts once for ICH-5 / ICH-DX-3."""
    return {f.kind for _, f in reference_findings(findings)}


def grade_ich(findings: list[Finding]) -> IchResult:
    """ICH-1 (STRONGLY_SUSPECTED), ICH-2..4 (REFERENCE each), ICH-5 (two or more REFERENCE: SUSPECTED)."""
    brain = _brain(findings)
    dde = tuple(i for i, f in brain if f.kind == "diffuse_dural_enhancement")
    refs = reference_findings(findings)
    excluded = tuple(i for i, f in brain if f.kind in ICH_EXCLUSIONS)
    notes: list[str] = []
    rules: tuple[str, ...]
    supporting: tuple[int, ...]
    if dde:
        grade, rules, supporting = G.STRONGLY_SUSPECTED, ("ICH-1",), dde
    elif len(distinct_reference_kinds(findings)) >= 2:
        grade, rules, supporting = G.SUSPECTED, ("ICH-5",), tuple(i for i, _ in refs)
    elif refs:
        grade = G.REFERENCE
        rules = tuple(sorted({ICH_TABLE[f.kind][1] for _, f in refs}))
        supporting = tuple(i for i, _ in refs)
    else:
        grade, rules, supporting = G.NONE, (), ()
    if brain and not dde:
        notes.append(NOTE_NO_DURAL_ENHANCEMENT)
    if excluded:
        kinds = sorted({findings[i].kind for i in excluded})
        notes.append(
            f"ICH grade not applicable: {', '.join(kinds)} recorded (brain herniation and Chiari"
            " malformation must be excluded)"
        )
        return IchResult(G.NONE, (), (), False, grade, excluded, tuple(notes))
    return IchResult(grade, rules, supporting, True, grade, (), tuple(notes))


def pressure_is_low(clinical: Clinical) -> bool | None:
    """Opening pressure <= 60 mmH2O supine or lateral; None when unknown or measured sitting."""
    if clinical.opening_pressure_mmh2o is None or clinical.opening_pressure_position == "sitting":
        return None
    return clinical.opening_pressure_mmh2o <= OPENING_PRESSURE_LIMIT_MMH2O


def grade_ich_dx(clinical: Clinical, findings: list[Finding], ich: IchResult) -> IchDxResult:
    """ICH-DX-1..3.

    ``missing`` lists every clinical input the rules read that is null (unknown): without
    ``clinical.orthostatic_headache`` ICH-DX-1/2 cannot apply; without
    ``clinical.opening_pressure_mmh2o`` the pressure criterion cannot be met. ICH-DX-3 rests on the
    same REFERENCE signs as ICH-5 and does not apply when the ICH grade is not applicable.
    """
    missing: list[str] = []
    notes: list[str] = []
    if clinical.orthostatic_headache is None:
        missing.append("clinical.orthostatic_headache")
    if clinical.opening_pressure_mmh2o is None:
        missing.append("clinical.opening_pressure_mmh2o")
    elif clinical.opening_pressure_position == "sitting":
        notes.append("opening pressure measured sitting: not counted (criterion is supine or lateral)")
    dde = tuple(i for i, f in _brain(findings) if f.kind == "diffuse_dural_enhancement")
    low = pressure_is_low(clinical) is True
    if clinical.orthostatic_headache is True:
        if dde and low:
            return IchDxResult(G.CONFIRMED, ("ICH-DX-1",), dde, tuple(missing), tuple(notes))
        if dde or low:
            return IchDxResult(G.DEFINITE, ("ICH-DX-2",), dde, tuple(missing), tuple(notes))
    elif clinical.orthostatic_headache is False:
        notes.append("no orthostatic headache: ICH-DX-1 and ICH-DX-2 do not apply (premise absent)")
    else:
        notes.append("orthostatic headache not recorded: ICH-DX-1 and ICH-DX-2 cannot apply")
    if len(distinct_reference_kinds(findings)) >= 2:
        if ich.applicable:
            support = tuple(i for i, _ in reference_findings(findings))
            return IchDxResult(G.SUSPECTED, ("ICH-DX-3",), support, tuple(missing), tuple(notes))
        notes.append("ICH-DX-3 not applied: brain herniation or Chiari malformation recorded")
    return IchDxResult(G.NONE, (), (), tuple(missing), tuple(notes))
