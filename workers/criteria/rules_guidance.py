"""EBP-1 eligibility, PATHWAY suggestions and DURO guidance: decision support, never a diagnosis.

EBP-1 (seed ``002_15febe5d0ea1e22e.txt``, insurance rule J007-2): eligible when orthostatic headache is
recorded and CSF-LEAK-DX >= DEFINITE. ``eligible`` is this rule only. The claim must also carry the image
findings, the imaging date (0008,0020) and the facility name (0008,0080): ``claim_missing`` lists the
claim items that are not known, and ``claim_ready`` is ``eligible`` with nothing missing.

PATHWAY (flowchart in ``002_15febe5d0ea1e22e.txt``), each worded as a suggestion:

- PATHWAY-1: no brain MRI and no CSF leak >= DEFINITE: contrast brain MRI for signs of CSF loss.
- PATHWAY-2: no spinal MRI and no CSF leak >= DEFINITE: contrast spinal MRI (fat-suppressed T2 axial
  and fat-suppressed contrast T1 axial) for an epidural CSF collection.
- PATHWAY-3: spinal MRI alone shows the leak (>= DEFINITE): treatment may start without radiation exposure.
- PATHWAY-4: spinal MRI without a leak >= DEFINITE and neither RI cisternography nor CT myelography:
  RI cisternography or CT myelography to show the leak.
- PATHWAY-5: RI cisternography done, no CT myelography, leak < DEFINITE: CT myelography is the most
  reliable test when technical failure can be excluded.
- PATHWAY-6: orthostatic headache recorded as absent: this does not exclude the disease.
- PATHWAY-7: brain MRI without diffuse dural enhancement: it may be missing early; repeat after weeks.

DURO (seed ``000_a2f76bd7855cfced.txt``): where an epidural collection exists, DURO-LOC-2 (defect at the
caudal end, inside the collection) and DURO-LOC-1 (prior C7/Th1-Th2/Th3) give the search window;
DURO-PROTO-1 says whether a thin axial steady-state series covers it; DURO-MSAM-2 flags MSAM to be
considered when anterior-horn hyperintensity at C2-C4 and an epidural collection are both found.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.criteria.context import StudyContext
from workers.criteria.findings import FindingsDocument
from workers.criteria.grades import Grade
from workers.criteria.grading import GRADED, Grading
from workers.criteria.levels import (
    DURO_PRIOR_WINDOW,
    DURO_SECOND_WINDOW,
    MSAM_ANTERIOR_HORN_WINDOW,
    LevelRange,
)
from workers.criteria.rules_csf import Diagnosis, FindingGrade

STUDY_DATE_TAG = "(0008,0020)"
INSTITUTION_NAME_TAG = "(0008,0080)"


@dataclass(frozen=True)
class ClaimItem:
    """One supporting finding as the EBP claim needs it."""

    index: int
    id: str | None
    description: str
    grade: Grade
    rules: tuple[str, ...]
    series_uid: str | None
    sop_instance_uids: tuple[str, ...]
    study_date: str | None
    institution_name: str | None

    @property
    def missing(self) -> tuple[str, ...]:
        out = []
        if self.study_date is None:
            out.append(f"findings[{self.index}].study_date {STUDY_DATE_TAG}")
        if self.institution_name is None:
            out.append(f"findings[{self.index}].institution_name {INSTITUTION_NAME_TAG}")
        if self.series_uid is None:
            out.append(f"findings[{self.index}].series_uid")
        if not self.sop_instance_uids:
            out.append(f"findings[{self.index}].sop_instance_uids")
        return tuple(out)


@dataclass(frozen=True)
class EbpResult:
    eligible: bool
    rules: tuple[str, ...]
    missing: tuple[str, ...]
    claim: tuple[ClaimItem, ...]
    claim_missing: tuple[str, ...]
    needs_confirmation: bool
    notes: tuple[str, ...] = ()
    grading: Grading = GRADED
    """Not graded: eligibility cannot be judged, as the CSF leak it rests on could not be assessed."""

    @property
    def claim_ready(self) -> bool:
        return self.eligible and not self.claim_missing

    @property
    def not_judged_reason(self) -> str:
        """Why eligibility cannot be judged, in words ("" when it can)."""
        if self.grading.graded:
            return ""
        return f"the CSF leak was not assessed: {self.grading.reason}"


def evaluate_ebp(
    doc: FindingsDocument, diagnosis: Diagnosis, context: StudyContext | None, *, leak_grading: Grading = GRADED
) -> EbpResult:
    """EBP-1. ``missing``: the clinical input that is unknown; ``claim_missing``: unknown claim items.
    ``leak_grading``: whether the CSF-leak grade rests on its exams. When the leak is below DEFINITE while an exam
    that could have shown it could not be assessed (the leak not graded, or graded from the other exams), and
    orthostatic headache is not recorded as absent, eligibility is **not graded** (it cannot be judged), never a
    confident "not eligible": every CSF-leak exam alone can give a DEFINITE leak (CSF-LEAK-MR-4, -RI-6, -CTM-1)."""
    headache = doc.clinical.orthostatic_headache
    missing = ("clinical.orthostatic_headache",) if headache is None else ()
    leak_ok = diagnosis.grade >= Grade.DEFINITE
    grading = GRADED
    if not leak_ok and headache is not False and leak_grading.unassessed:
        grading = Grading(False, leak_grading.unassessed)
    notes: list[str] = []
    if headache is False:
        notes.append("orthostatic headache recorded as absent")
    if not leak_ok:
        said = str(diagnosis.grade) if leak_grading.graded else "not graded: its exams could not be assessed"
        notes.append(f"CSF leak {said} (EBP-1 needs DEFINITE or CONFIRMED under CSF-LEAK-DX)")
    claim: list[ClaimItem] = []
    if leak_ok:
        for g in diagnosis.supporting:
            f = g.finding
            claim.append(
                ClaimItem(
                    index=g.index,
                    id=f.id,
                    description=f.describe(),
                    grade=g.grade,
                    rules=g.rules,
                    series_uid=f.series_uid,
                    sop_instance_uids=tuple(f.sop_instance_uids or ()),
                    study_date=f.study_date or (context.study_date if context else None),
                    institution_name=f.institution_name or (context.institution_name if context else None),
                )
            )
    eligible = headache is True and leak_ok
    claim_missing = tuple(m for item in claim for m in item.missing)
    automated = any(g.finding.source == "automated" for g in diagnosis.supporting) and leak_ok
    return EbpResult(eligible, ("EBP-1",), missing, tuple(claim), claim_missing, automated, tuple(notes), grading)


@dataclass(frozen=True)
class Suggestion:
    rule: str
    text: str


def _exams(doc: FindingsDocument, context: StudyContext | None) -> tuple[frozenset[str], str]:
    if context is not None and context.exams_performed is not None:
        return context.exams_performed, "performed"
    return frozenset(f.exam for f in doc.findings), "with findings recorded"


def suggest_pathway(
    doc: FindingsDocument, diagnosis: Diagnosis, context: StudyContext | None = None
) -> tuple[Suggestion, ...]:
    """PATHWAY-1..7 (see module docstring)."""
    exams, basis = _exams(doc, context)
    shown = diagnosis.grade >= Grade.DEFINITE
    out: list[Suggestion] = []
    if not shown and "brain_mri" not in exams:
        out.append(
            Suggestion(
                "PATHWAY-1",
                f"No brain MRI {basis}: consider contrast brain MRI to look for signs of CSF loss.",
            )
        )
    if not shown and "spinal_mri" not in exams:
        out.append(
            Suggestion(
                "PATHWAY-2",
                f"No spinal MRI {basis}: consider contrast spinal MRI"
                " (fat-suppressed T2 and fat-suppressed contrast T1 axial) to look"
                " for an epidural CSF collection.",
            )
        )
    mr_shows = shown and all(g.finding.exam == "spinal_mri" for g in diagnosis.supporting)
    if mr_shows:
        out.append(
            Suggestion(
                "PATHWAY-3",
                "Spinal MRI shows the leak: treatment could be considered without"
                " radiation exposure (RI cisternography or CT myelography may"
                " not be needed).",
            )
        )
    if not shown and "spinal_mri" in exams and not exams & {"ri_cisternography", "ct_myelography"}:
        out.append(
            Suggestion(
                "PATHWAY-4",
                "Spinal MRI does not show a leak at DEFINITE or above: consider RI"
                " cisternography or CT myelography to show the leak.",
            )
        )
    if not shown and "ri_cisternography" in exams and "ct_myelography" not in exams:
        out.append(
            Suggestion(
                "PATHWAY-5",
                "Consider CT myelography: the most reliable test when technical failure can be excluded.",
            )
        )
    if doc.clinical.orthostatic_headache is False:
        out.append(Suggestion("PATHWAY-6", "No orthostatic headache recorded: its absence does not exclude CSF leak."))
    brain = [f for f in doc.findings if f.exam == "brain_mri"]
    if brain and not any(f.kind == "diffuse_dural_enhancement" for f in brain):
        out.append(
            Suggestion(
                "PATHWAY-7",
                "No diffuse dural enhancement: it may be missing early; consider"
                " repeating contrast brain MRI after some weeks.",
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class DuroGuidance:
    """Where to look for a dural defect; a suggestion, never a diagnosis."""

    rules: tuple[str, ...]
    findings: tuple[int, ...]
    window: LevelRange
    look_first: LevelRange
    ssfp_covered: bool | None
    text: str


def _covered(window: LevelRange, coverage: tuple[LevelRange, ...]) -> bool:
    covered = {i for r in coverage for i in range(r.upper, r.lower + 1)}
    return all(i in covered for i in range(window.upper, window.lower + 1))


def _ssfp_text(window: LevelRange, context: StudyContext | None) -> tuple[bool | None, str]:
    acquire = (
        f"acquire thin (about 1 mm) axial steady-state images (FIESTA/CISS/bFFE) over {window}; about"
        f" 5 vertebral levels per acquisition, {DURO_PRIOR_WINDOW} first, then {DURO_SECOND_WINDOW}"
        " if nothing is found"
    )
    has = context.has_thin_axial_ssfp if context is not None else None
    if has is None:
        return None, f"If no thin axial steady-state series covers it, {acquire}."
    if has is False:
        return False, f"No thin axial steady-state series in the study: {acquire}."
    assert context is not None
    if not context.thin_axial_ssfp_coverage:
        return None, (f"A thin axial steady-state series exists (coverage unknown); check that it covers {window}.")
    if _covered(window, context.thin_axial_ssfp_coverage):
        return True, f"The thin axial steady-state series covers {window}: read it there for the defect."
    return False, f"The thin axial steady-state series does not cover all of {window}: {acquire}."


def duro_guidance(graded: list[FindingGrade], context: StudyContext | None = None) -> tuple[DuroGuidance, ...]:
    """DURO-LOC-1/2 and DURO-PROTO-1 for every epidural collection (spinal MRI, counted CT myelography)."""
    out: list[DuroGuidance] = []
    for g in graded:
        f = g.finding
        collection = (f.exam, f.kind) == ("spinal_mri", "epidural_fluid") or (
            (f.exam, f.kind) == ("ct_myelography", "epidural_contrast") and "CSF-LEAK-CTM-3" not in g.rules
        )
        if not collection:
            continue
        extent = f.level_range
        if extent is None:
            window, look_first = DURO_PRIOR_WINDOW, DURO_PRIOR_WINDOW
            where = (
                f"Levels of the epidural collection not recorded: search {DURO_PRIOR_WINDOW}"
                " (C7/Th1-Th2/Th3, where most spontaneous ventral defects lie) for a dural defect."
            )
            rules: tuple[str, ...] = ("DURO-LOC-1", "DURO-PROTO-1")
        else:
            window = extent
            caudal = LevelRange(extent.lower, extent.lower)
            prior = extent.intersection(DURO_PRIOR_WINDOW)
            look_first = caudal
            where = (
                f"Epidural collection {extent}: a dural defect, if any, is expected inside it, most"
                f" often at its caudal end ({caudal})"
            )
            if prior is not None:
                where += f"; {prior} also lies in C7-T3, where most spontaneous ventral defects lie"
            where += "."
            rules = ("DURO-LOC-1", "DURO-LOC-2", "DURO-PROTO-1")
        covered, ssfp = _ssfp_text(window, context)
        out.append(DuroGuidance(rules, (g.index,), window, look_first, covered, f"{where} {ssfp}"))
    return tuple(out)


MSAM_FLAG = "duropathy (MSAM) to be considered; search C7-Th3 for a dural defect on axial steady-state images"


def duro_msam_2(anterior_horn: LevelRange | None, collections: list[LevelRange | None]) -> str | None:
    """DURO-MSAM-2: anterior-horn hyperintensity within C2-C4 and an epidural collection -> the flag text."""
    if anterior_horn is None or not collections:
        return None
    if not anterior_horn.overlaps(MSAM_ANTERIOR_HORN_WINDOW):
        return None
    return MSAM_FLAG
