"""The one place where analyser outputs, QC verdicts, criteria grades and protocol checks become the
study's :class:`~workers.results.findings.FindingsReport` (what every view shows first).

Rules:
- an output whose QC verdict is not ``ok`` (or whose analyser step failed) is never a finding: it is
  listed as "not assessable" with the verdict's reason;
- severity: cord compression of 40 % or more, a marrow ADC suspicious for malignancy and a DEFINITE or
  CONFIRMED CSF-leak grade are severe (the study becomes urgent); other abnormal outputs are moderate; an
  ADC that favours benign is mild; a confidence below 0.55 is shown as "low confidence";
- a finding a radiologist rejected moves to ``rejected``; a confirmed one stays, marked confirmed;
- a criteria result whose exams could not be assessed is "not graded" with the reason, never "none"; when no
  automated output passed its quality check the report says that nothing could be assessed;
- protocol notes are words (no rule IDs), ``relevant`` where they matter: the steady-state series when a
  leak or duropathy is in question, the ADC when a marrow lesion is, contrast when fluid was seen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydicom.sr.coding import Code

from workers.analysis.base import MSCC_CODE, AnalyserResult, AnalysisOutput, vertebra_code
from workers.analysis.levels import ANALYSER as LEVELS_ANALYSER
from workers.criteria.words import EXAM_WORDS, grade_words
from workers.results import codes as rc
from workers.results.findings import (
    FindingKind,
    FindingsReport,
    FindingValue,
    NotAssessable,
    NotGraded,
    ProtocolNote,
    ReportedFinding,
    Review,
    Severity,
    ordered,
)

SEVERE_COMPRESSION_PERCENT = 40.0
ADC_CONCEPT = Code("113041", "DCM", "Apparent Diffusion Coefficient")

ANALYSER_WORDS = {
    "vertebral_levels": "Vertebral levels",
    "cord_morphometry": "Spinal cord shape and area",
    "marrow_adc": "Vertebral marrow ADC",
    "cord_dti": "Spinal cord diffusion (DTI)",
    "cord_mtr": "Spinal cord magnetisation transfer",
    "canal_fluid": "Epidural fluid and anterior horns",
    **EXAM_WORDS,
}
_PROTOCOL_WORDS = {
    "DURO-PROTO-1": "no thin axial steady-state series over C7–T3 for a dural-defect search",
    "VB-ADC-1": "no diffusion series or ADC map: a marrow lesion's ADC cannot be measured",
    "CSF-LEAK-MR-2": "no post-contrast series: enhancement of a fluid collection cannot be judged",
    "CORD-QC-1": "cord diffusion with multiband factor 4 or more: DTI values may be degraded",
}


def _span(upper: str | None, lower: str | None) -> tuple[str, ...]:
    if upper is None:
        return ()
    return (upper,) if lower in (None, upper) else (upper, str(lower))


def _span_text(levels: Sequence[str]) -> str:
    return "–".join(levels) if levels else "level not named"


def _sites(primary: Code, levels: Sequence[str]) -> tuple[Code, ...]:
    return (primary, *(vertebra_code(level) for level in dict.fromkeys(levels)))


def _ok(result: AnalyserResult, series_uid: str) -> bool:
    verdict = result.verdict(series_uid) if series_uid else None
    if verdict is None and series_uid == "" and result.qc:
        return all(v.ok for v in result.qc)
    return verdict is None or verdict.ok


def _cord(result: AnalyserResult) -> list[ReportedFinding]:
    comp = result.details.get("compression")
    out = []
    for cand in result.findings:
        if "CORD-MORPH-1" not in cand.rules or comp is None or not _ok(result, cand.series_instance_uid):
            continue
        percent = float(comp.mscc_percent)
        levels = (cand.level,) if cand.level else ()
        where = f" at {cand.level}" if cand.level else " (level not named)"
        out.append(
            ReportedFinding(
                key="cord-compression",
                kind=FindingKind.CORD_COMPRESSION,
                headline=f"Cord compression {percent:.0f} %{where}",
                detail=f"AP diameter {comp.min_ap_mm:.1f} mm against {comp.reference_ap_mm:.1f} mm above and below",
                severity=Severity.SEVERE if percent >= SEVERE_COMPRESSION_PERCENT else Severity.MODERATE,
                concept=rc.COMPRESSION,
                sites=_sites(rc.SPINAL_CORD, levels),
                levels=levels,
                values=(FindingValue(MSCC_CODE, round(percent), "%", "AP narrowing"),),
                rules=cand.rules,
                confidence=cand.confidence,
                series_uid=cand.series_instance_uid,
                sop_instance_uids=cand.sop_instance_uids,
            )
        )
    return out


def _marrow(result: AnalyserResult) -> list[ReportedFinding]:
    out = []
    entries = result.details.get("vb") or []
    candidates = [c for c in result.findings if "VB-ADC-1" in c.rules]
    for index, (entry, cand) in enumerate(zip(entries, candidates, strict=False)):
        if not _ok(result, cand.series_instance_uid):
            continue
        vb = entry["vb_adc"]
        adc = float(vb.adc_mean)  # 10^-3 mm2/s
        where = cand.level or "a vertebral body"
        levels = (cand.level,) if cand.level else ()
        if vb.classification == "suspicious_malignant":
            severity, verdict, words = Severity.SEVERE, rc.ADC_SUSPICIOUS, "suspicious for malignancy"
        elif vb.classification == "favours_benign":
            severity, verdict, words = Severity.MILD, rc.ADC_BENIGN, "favours benign"
        else:
            severity, verdict, words = Severity.MODERATE, rc.ADC_UNRELIABLE, "ADC not reliable"
        detail = f"ADC {adc:.2f} ×10⁻³ mm²/s, cut-off 1.21"
        if vb.problems:
            detail += "; " + "; ".join(vb.problems)
        if entry.get("differential"):
            detail += "; signal pattern fits " + ", ".join(entry["differential"])
        out.append(
            ReportedFinding(
                key=f"marrow-lesion-{cand.level or index + 1}",
                kind=FindingKind.MARROW_LESION,
                headline=f"Marrow lesion {where}: ADC {adc:.2f}, {words}",
                detail=detail,
                severity=severity,
                concept=rc.LESION,
                sites=_sites(rc.BONE_MARROW, levels),
                levels=levels,
                values=(FindingValue(ADC_CONCEPT, round(adc * 1e-3, 6), "mm2/s", "ADC"),),
                verdict=verdict,
                rules=cand.rules,
                confidence=cand.confidence,
                series_uid=cand.series_instance_uid,
                sop_instance_uids=cand.sop_instance_uids,
            )
        )
    return out


def _canal(result: AnalyserResult, confirmed: set[str], candidate_key: Any) -> list[ReportedFinding]:
    out = []
    for index, cand in enumerate(c for c in result.findings if "CSF-LEAK-MR-1" in c.rules):
        if not _ok(result, cand.series_instance_uid):
            continue
        levels = tuple(cand.finding["levels"]) if cand.finding else ((cand.level,) if cand.level else ())
        key = candidate_key(cand.finding) if cand.finding else None
        out.append(
            ReportedFinding(
                key=f"epidural-fluid-{'-'.join(levels) or index + 1}",
                kind=FindingKind.EPIDURAL_FLUID,
                headline=f"Epidural fluid {_span_text(levels)}",
                detail="ventral collection with CSF-like T2 signal in front of the dura",
                severity=Severity.MODERATE,
                concept=rc.EPIDURAL_FLUID,
                sites=_sites(rc.VERTEBRAL_CANAL, levels),
                levels=levels,
                rules=cand.rules,
                confidence=cand.confidence,
                review=Review.CONFIRMED if key is not None and key in confirmed else Review.PENDING,
                candidate_key=key,
                series_uid=cand.series_instance_uid,
                sop_instance_uids=cand.sop_instance_uids,
            )
        )
    for ext in result.details.get("anterior_horn") or []:
        if not _ok(result, ext.series_instance_uid):
            continue
        levels = _span(ext.upper, ext.lower)
        out.append(
            ReportedFinding(
                key=f"anterior-horn-{'-'.join(levels) or 'unnamed'}",
                kind=FindingKind.ANTERIOR_HORN,
                headline=f"Anterior-horn T2 signal {_span_text(levels)}",
                detail="bilateral anterior-horn hyperintensity of the cord",
                severity=Severity.MODERATE,
                concept=rc.ANTERIOR_HORN_SIGNAL,
                sites=_sites(rc.SPINAL_CORD_GRAY_MATTER, levels),
                levels=levels,
                rules=("DURO-MSAM-2",),
                confidence=0.6,
                series_uid=ext.series_instance_uid,
                sop_instance_uids=ext.sop_instance_uids,
            )
        )
    return out


def _leak_basis(criteria: Any) -> str:
    """The findings a CSF-leak grade rests on, in words ("… from RI cisternography: epidural accumulation
    (asymmetric)"), so that the reader sees what was abnormal, not only that a grade was reached."""
    found = []
    for index in criteria.csf_leak_indices:
        f = criteria.document.findings[index]
        exam = ANALYSER_WORDS.get(str(f.exam), str(f.exam).replace("_", " ").replace("mri", "MRI"))
        pattern = f" ({str(f.pattern).replace('_', ' ')})" if getattr(f, "pattern", None) else ""
        found.append(f"{exam}: {f.kind.replace('_', ' ')}{pattern}")
    basis = "; ".join(dict.fromkeys(found))
    return "by the imaging criteria for a CSF leak" + (f", from {basis}" if basis else "")


def _criteria(criteria: Any) -> list[ReportedFinding]:
    from workers.criteria import codes as cc

    out: list[ReportedFinding] = []
    if criteria is None:
        return out
    leak = criteria.csf_leak
    if leak.grade.is_abnormal:
        grade = str(leak.grade)
        out.append(
            ReportedFinding(
                key="csf-leak-grade",
                kind=FindingKind.CSF_LEAK,
                headline=f"CSF leak {grade_words(grade)}",
                detail=_leak_basis(criteria),
                severity=Severity.SEVERE if grade in ("DEFINITE", "CONFIRMED") else Severity.MODERATE,
                concept=cc.CSF_LEAK,
                verdict=cc.GRADES[leak.grade],
                rules=(leak.rule,),
                review=Review.PENDING if criteria.csf_leak_needs_confirmation else Review.CONFIRMED,
                reviewable=False,
            )
        )
    ich = criteria.ich
    if ich.grade.is_abnormal:
        grade = str(ich.grade)
        out.append(
            ReportedFinding(
                key="ich-grade",
                kind=FindingKind.INTRACRANIAL_HYPOTENSION,
                headline=f"Intracranial hypotension {grade_words(grade)}",
                severity=Severity.MODERATE,
                concept=cc.INTRACRANIAL_HYPOTENSION,
                verdict=cc.GRADES[ich.grade],
                rules=ich.rules,
                review=Review.PENDING if criteria.ich_needs_confirmation else Review.CONFIRMED,
                reviewable=False,
            )
        )
    if criteria.duro_flags:
        out.append(
            ReportedFinding(
                key="msam",
                kind=FindingKind.MSAM,
                headline="Duropathy (MSAM) to be considered",
                detail="anterior-horn signal with an epidural collection: search C7–T3 for a dural defect",
                severity=Severity.MODERATE,
                concept=rc.MSAM_FLAG,
                rules=("DURO-MSAM-2",),
                reviewable=False,
            )
        )
    return out


def _notes(
    checks: Iterable[Any], findings: Sequence[ReportedFinding], clinical: Mapping[str, Any]
) -> list[ProtocolNote]:
    kinds = {f.kind for f in findings}
    leak_question = bool(
        kinds & {FindingKind.EPIDURAL_FLUID, FindingKind.CSF_LEAK, FindingKind.MSAM, FindingKind.ANTERIOR_HORN}
    ) or bool(clinical.get("orthostatic_headache"))
    relevant = {
        "DURO-PROTO-1": leak_question,
        "CSF-LEAK-MR-2": FindingKind.EPIDURAL_FLUID in kinds or leak_question,
        "VB-ADC-1": FindingKind.MARROW_LESION in kinds,
        "CORD-QC-1": True,
    }
    notes = []
    for check in checks:
        if check.status not in ("fail", "warn"):
            continue
        text = _PROTOCOL_WORDS.get(check.rule_id, check.message)
        notes.append(ProtocolNote(check.rule_id, text[:1].upper() + text[1:], relevant.get(check.rule_id, False)))
    return notes


def analyser_words(name: str) -> str:
    """An analyser as a person names what it measures ("canal_fluid" -> "Epidural fluid and anterior horns")."""
    return ANALYSER_WORDS.get(name, name.replace("_", " ").capitalize())


def _not_assessable(analysis: AnalysisOutput | None, errors: Sequence[str]) -> list[NotAssessable]:
    out = []
    for result in analysis.results if analysis is not None else []:
        for verdict in result.qc:
            if not verdict.ok:
                what = analyser_words(result.analyser)
                out.append(NotAssessable(what, verdict.reason, verdict.series_uid))
    for error in errors:
        step, _, why = error.partition(":")
        out.append(NotAssessable(step.strip().capitalize() or "Processing", why.strip() or error))
    return out


def _not_graded(criteria: Any) -> list[NotGraded]:
    if criteria is None:
        return []
    why = {"ebp_eligible": criteria.ebp.not_judged_reason}  # eligibility: the leak it rests on was not assessed
    return [
        NotGraded(name, why.get(name) or g.reason, g.exam_absent)
        for name, g in criteria.gradings.items()
        if not g.graded
    ]


def _nothing_assessed(analysis: AnalysisOutput | None) -> bool:
    """No analyser output (the vertebral levels aside: they assess nothing by themselves) passed its check."""
    results = analysis.results if analysis is not None else []
    return not any(v.ok for r in results if r.analyser != LEVELS_ANALYSER for v in r.qc)


def build_findings(
    analysis: AnalysisOutput | None,
    criteria: Any,
    checks: Sequence[Any] = (),
    *,
    reviews: Mapping[str, Review] | None = None,
    confirmed_candidates: Iterable[str] = (),
    clinical: Mapping[str, Any] | None = None,
    errors: Sequence[str] = (),
) -> FindingsReport:
    """The findings report of one study revision.

    ``criteria``: the :class:`workers.criteria.CriteriaResult` (None when the criteria did not run).
    ``reviews``: finding key -> the radiologist's decision. ``confirmed_candidates``: candidate keys of
    automated findings a radiologist entered as their own. ``errors``: steps that failed, as "step: why".
    """
    from workers.pipeline.candidates import candidate_key

    reviews = dict(reviews or {})
    confirmed = set(confirmed_candidates)
    found: list[ReportedFinding] = []
    for result in analysis.results if analysis is not None else []:
        if result.analyser == "cord_morphometry":
            found += _cord(result)
        elif result.analyser == "marrow_adc":
            found += _marrow(result)
        elif result.analyser == "canal_fluid":
            found += _canal(result, confirmed, candidate_key)
    found += _criteria(criteria)
    kept, rejected = [], []
    for f in found:
        decision = reviews.get(f.key)
        if decision is Review.REJECTED:
            rejected.append(_with_review(f, Review.REJECTED))
        elif decision is Review.CONFIRMED:
            kept.append(_with_review(f, Review.CONFIRMED))
        else:
            kept.append(f)
    return FindingsReport(
        findings=ordered(kept),
        rejected=tuple(rejected),
        not_assessable=tuple(_not_assessable(analysis, errors)),
        notes=tuple(_notes(checks, kept, clinical or {})),
        not_graded=tuple(_not_graded(criteria)),
        nothing_assessed=_nothing_assessed(analysis),
    )


def _with_review(f: ReportedFinding, review: Review) -> ReportedFinding:
    from dataclasses import replace

    return replace(f, review=review)
