"""CSF-LEAK: imaging criteria for cerebrospinal fluid leak (criteria.md; seed ``001_b063a687062f3e23.txt``).

Each finding of spinal MRI, RI cisternography and CT myelography gets a grade from the tables below
(CSF-LEAK-MR-1..4, MR-SUBDURAL, RI-1..6, RI-CIRC, RI-BLADDER, CTM-1..4); :func:`diagnose_csf_leak`
combines them into the diagnosis (CSF-LEAK-DX-1..5).
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.criteria.findings import Finding
from workers.criteria.grades import Grade

G = Grade


@dataclass(frozen=True)
class FindingGrade:
    """The grade one finding contributes, with the rules that gave it.

    ``also``: indices of other findings the grade rests on (the circulation-failure finding that upgraded
    an RI accumulation). ``reported``: seen and shown in the result although it counts for nothing.
    """

    index: int
    finding: Finding
    grade: Grade
    rules: tuple[str, ...]
    notes: tuple[str, ...] = ()
    also: tuple[int, ...] = ()
    reported: bool = False


# --- CSF-LEAK-MR --------------------------------------------------------------------------------------
#: (does not enhance, continuous with the subarachnoid space) -> grade and rule, for an epidural
#: water-signal lesion on spinal MRI / MR myelography.
MR_TABLE: dict[tuple[bool, bool], tuple[Grade, str]] = {
    (False, False): (G.SUSPECTED, "CSF-LEAK-MR-1"),
    (True, False): (G.STRONGLY_SUSPECTED, "CSF-LEAK-MR-2"),
    (False, True): (G.STRONGLY_SUSPECTED, "CSF-LEAK-MR-3"),
    (True, True): (G.DEFINITE, "CSF-LEAK-MR-4"),
}
NOTE_ENHANCEMENT_NOT_ASSESSABLE = "enhancement not assessable: CSF-LEAK-MR-2 and CSF-LEAK-MR-4 cannot fire"


def grade_spinal_mri(index: int, finding: Finding, post_contrast_available: bool | None = None) -> FindingGrade:
    """CSF-LEAK-MR-1..4 for ``epidural_fluid``; MR-SUBDURAL; perineural cysts are not findings.

    ``post_contrast_available`` False (the study holds no post-contrast spinal series) makes enhancement
    not assessable whatever the finding says.
    """
    if finding.kind == "subdural_fluid":
        return FindingGrade(
            index,
            finding,
            G.NONE,
            ("CSF-LEAK-MR-SUBDURAL",),
            ("subdural CSF: reported as seen, never abnormal; tell apart from an arachnoid cyst",),
            reported=True,
        )
    if finding.kind == "perineural_cyst":
        return FindingGrade(
            index,
            finding,
            G.NONE,
            (),
            ("perineural (Tarlov) cyst / nerve-sleeve dilation: excluded, not a finding (CSF-LEAK-MR caveat)",),
            reported=True,
        )
    notes: list[str] = []
    assessable = finding.enhancement in ("absent", "present") and post_contrast_available is not False
    if not assessable:
        notes.append(NOTE_ENHANCEMENT_NOT_ASSESSABLE)
    if finding.enhancement == "present":
        notes.append("lesion enhances: venous plexus and lymph must be told apart")
    non_enhancing = assessable and finding.enhancement == "absent"
    continuous = finding.continuous_with_subarachnoid is True
    grade, rule = MR_TABLE[(non_enhancing, continuous)]
    return FindingGrade(index, finding, grade, (rule,), tuple(notes))


# --- CSF-LEAK-RI --------------------------------------------------------------------------------------
#: Epidural RI accumulation pattern -> grade and rule.
RI_PATTERN_TABLE: dict[str, tuple[Grade, str]] = {
    "unilateral_localized": (G.STRONGLY_SUSPECTED, "CSF-LEAK-RI-1"),
    "asymmetric": (G.SUSPECTED, "CSF-LEAK-RI-2"),
    "symmetric_cervicothoracic": (G.SUSPECTED, "CSF-LEAK-RI-3"),
    "symmetric_lumbar": (G.REFERENCE, "CSF-LEAK-RI-4"),
}
#: Circulation failure (CSF-LEAK-RI-CIRC) raises an RI accumulation by one step.
RI_CIRCULATION_UPGRADE: dict[Grade, tuple[Grade, str]] = {
    G.SUSPECTED: (G.STRONGLY_SUSPECTED, "CSF-LEAK-RI-5"),
    G.STRONGLY_SUSPECTED: (G.DEFINITE, "CSF-LEAK-RI-6"),
}
NOTE_CIRCULATION_NOT_JUDGEABLE = (
    "circulation failure not judgeable: RI was not seen entering the basal cisterns; no upgrade"
)


@dataclass(frozen=True)
class Circulation:
    """CSF-LEAK-RI-CIRC over the document: judged present (``present``), recorded but not judgeable."""

    present: tuple[int, ...] = ()
    not_judgeable: tuple[int, ...] = ()

    @classmethod
    def from_findings(cls, findings: list[Finding]) -> Circulation:
        present: list[int] = []
        not_judgeable: list[int] = []
        for index, finding in enumerate(findings):
            if finding.exam == "ri_cisternography" and finding.kind == "circulation_failure":
                (present if finding.cisternal_filling_seen is True else not_judgeable).append(index)
        return cls(tuple(present), tuple(not_judgeable))


def grade_ri(index: int, finding: Finding, circulation: Circulation) -> FindingGrade:
    """CSF-LEAK-RI-1..4, the upgrades RI-5/RI-6, RI-CIRC and RI-BLADDER."""
    if finding.kind == "early_bladder":
        return FindingGrade(
            index,
            finding,
            G.REFERENCE,
            ("CSF-LEAK-RI-BLADDER",),
            ("early bladder accumulation within 2.5 h: reference only, never abnormal on its own",),
        )
    if finding.kind == "circulation_failure":
        if finding.cisternal_filling_seen is True:
            note = "CSF circulation failure (24 h convexity uptake below the cisterns, delayed)"
        else:
            note = NOTE_CIRCULATION_NOT_JUDGEABLE
        return FindingGrade(index, finding, G.NONE, ("CSF-LEAK-RI-CIRC",), (note,), reported=True)
    assert finding.pattern is not None  # required by the findings model
    grade, rule = RI_PATTERN_TABLE[finding.pattern]
    rules: tuple[str, ...] = (rule,)
    notes: tuple[str, ...] = ()
    also: tuple[int, ...] = ()
    if grade == G.REFERENCE:
        notes = ("lumbar bilateral symmetric accumulation: reference only (technical failure not excluded)",)
    elif circulation.present:
        grade, upgrade = RI_CIRCULATION_UPGRADE[grade]
        rules = (rule, "CSF-LEAK-RI-CIRC", upgrade)
        also = circulation.present
    elif circulation.not_judgeable:
        notes = (NOTE_CIRCULATION_NOT_JUDGEABLE,)
    return FindingGrade(index, finding, grade, rules, notes, also)


# --- CSF-LEAK-CTM -------------------------------------------------------------------------------------
def grade_ctm(index: int, finding: Finding) -> FindingGrade:
    """CSF-LEAK-CTM-1..4.

    Continuity with the puncture site (CTM-3) is checked first: a technical failure is not excluded, so
    nothing counts. CTM-2 (dural defect, or continuous with the subarachnoid space) gives CONFIRMED as in
    the source's list of 確定 findings. CTM-1 needs ``continuous_with_puncture_site`` recorded as false;
    when it is unknown the finding is reported but not graded.
    """
    if finding.kind == "subdural_contrast":
        return FindingGrade(
            index,
            finding,
            G.NONE,
            ("CSF-LEAK-CTM-4",),
            ("subdural contrast: reported as seen, never abnormal; tell apart from an arachnoid cyst",),
            reported=True,
        )
    if finding.continuous_with_puncture_site is True:
        return FindingGrade(
            index,
            finding,
            G.NONE,
            ("CSF-LEAK-CTM-3",),
            ("epidural contrast continuous with the puncture site: technical failure not excluded",),
            reported=True,
        )
    if finding.dural_defect is True or finding.continuous_with_subarachnoid is True:
        notes: tuple[str, ...] = ()
        if finding.continuous_with_puncture_site is None:
            notes = ("continuity with the puncture site not recorded",)
        return FindingGrade(index, finding, G.CONFIRMED, ("CSF-LEAK-CTM-2",), notes)
    if finding.continuous_with_puncture_site is False:
        return FindingGrade(index, finding, G.DEFINITE, ("CSF-LEAK-CTM-1",))
    return FindingGrade(
        index,
        finding,
        G.NONE,
        (),
        (
            "epidural contrast: continuity with the puncture site unknown, technical failure not excluded;"
            " CSF-LEAK-CTM-1 needs continuous_with_puncture_site false",
        ),
        reported=True,
    )


def grade_finding(
    index: int, finding: Finding, circulation: Circulation, post_contrast_available: bool | None = None
) -> FindingGrade | None:
    """The CSF-LEAK grade of one finding; None for brain MRI (graded by ICH)."""
    if finding.exam == "spinal_mri":
        return grade_spinal_mri(index, finding, post_contrast_available)
    if finding.exam == "ri_cisternography":
        return grade_ri(index, finding, circulation)
    if finding.exam == "ct_myelography":
        return grade_ctm(index, finding)
    return None


# --- CSF-LEAK-DX --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Diagnosis:
    """The CSF-LEAK-DX result: grade, the DX rule, and the graded findings it rests on."""

    grade: Grade
    rule: str
    supporting: tuple[FindingGrade, ...]
    notes: tuple[str, ...] = ()


_PAIR_DEFINITE = {
    (G.STRONGLY_SUSPECTED, G.STRONGLY_SUSPECTED),
    (G.STRONGLY_SUSPECTED, G.SUSPECTED),
    (G.SUSPECTED, G.STRONGLY_SUSPECTED),
}
_POSITIVE = (G.SUSPECTED, G.STRONGLY_SUSPECTED)


def same_site(a: Finding, b: Finding) -> bool | None:
    """Overlapping level ranges after normalisation; None when either finding has no levels."""
    ra, rb = a.level_range, b.level_range
    if ra is None or rb is None:
        return None
    return ra.overlaps(rb)


def diagnose_csf_leak(graded: list[FindingGrade]) -> Diagnosis:
    """CSF-LEAK-DX-1..5, evaluated in order; REFERENCE findings never raise the grade."""
    for grade, rule in ((G.CONFIRMED, "CSF-LEAK-DX-1"), (G.DEFINITE, "CSF-LEAK-DX-2")):
        hits = tuple(g for g in graded if g.grade == grade)
        if hits:
            return Diagnosis(grade, rule, hits)
    ri = [g for g in graded if g.finding.exam == "ri_cisternography" and g.grade in _POSITIVE]
    mr = [g for g in graded if g.finding.exam == "spinal_mri" and g.grade in _POSITIVE]
    notes: list[str] = []
    definite_pairs: list[FindingGrade] = []
    suspected_pairs: list[FindingGrade] = []
    unknown_site = False
    for r in ri:
        for m in mr:
            site = same_site(r.finding, m.finding)
            if site is None:
                unknown_site = True
                continue
            if not site:
                continue
            target = definite_pairs if (r.grade, m.grade) in _PAIR_DEFINITE else suspected_pairs
            target.extend(g for g in (r, m) if g not in target)
    if unknown_site:
        notes.append(
            "RI and spinal MRI both positive, but levels are missing on at least one pair: same site not"
            " judgeable (CSF-LEAK-DX-3 needs overlapping levels)"
        )
    elif ri and mr and not definite_pairs and not suspected_pairs:
        notes.append("RI and spinal MRI positive at different sites: each counts as one exam only")
    if definite_pairs:
        return Diagnosis(G.DEFINITE, "CSF-LEAK-DX-3", _ordered(definite_pairs), tuple(notes))
    if suspected_pairs or ri or mr:
        support = suspected_pairs if suspected_pairs else ri + mr
        return Diagnosis(G.SUSPECTED, "CSF-LEAK-DX-4", _ordered(support), tuple(notes))
    return Diagnosis(G.NONE, "CSF-LEAK-DX-5", (), tuple(notes))


def _ordered(items: list[FindingGrade]) -> tuple[FindingGrade, ...]:
    return tuple(sorted(items, key=lambda g: g.index))
