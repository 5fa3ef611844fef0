"""Report content of the criteria engine: :func:`criteria_sections` turns a :class:`CriteriaResult` into
:class:`ReportSection` objects (summary-card lines, worklist flags, TID 1501 groups for the SR).

Each grade becomes one highdicom ``MeasurementsAndQualitativeEvaluations`` group (TID 1501): the finding
type (SCT "Cerebrospinal fluid leak", or a private code), the criteria set as Measurement Method, the grade
and "requires confirmation" as coded qualitative evaluations, and TEXT items for the rule IDs, the rule-set
version, missing inputs and the supporting findings (with their Series Instance UID, SOP Instance UIDs,
Study Date and Institution Name as properties). A result that is not graded (its exams could not be assessed,
:mod:`workers.criteria.grading`) has the grade value "Not graded" and one TEXT item per exam saying why; its line
says "not graded" with the reason, never "none". Codes are documented in ``CODES.md``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence

import highdicom as hd
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from workers.criteria import codes as cc
from workers.criteria.grades import Grade
from workers.criteria.grading import Grading
from workers.criteria.result import CriteriaResult, ExamGrade
from workers.criteria.rules_csf import FindingGrade
from workers.criteria.rules_guidance import ClaimItem
from workers.criteria.words import EXAM_WORDS, NOT_GRADED_WORDS, result_title
from workers.results.card_words import field_words, plain
from workers.results.header import deterministic_uid
from workers.results.section import ReportSection

_CONTAINS = hd.sr.RelationshipTypeValues.CONTAINS
_HAS_PROPERTIES = hd.sr.RelationshipTypeValues.HAS_PROPERTIES


def _uid(study_instance_uid: str | None, key: str) -> str:
    if study_instance_uid is None:
        return str(generate_uid())
    return deterministic_uid("criteria", study_instance_uid, key)


def _text(name: Code, value: str, relationship: hd.sr.RelationshipTypeValues = _CONTAINS) -> hd.sr.TextContentItem:
    return hd.sr.TextContentItem(name=name, value=value, relationship_type=relationship)


def _supporting_item(
    label: str,
    series_uid: str | None,
    sop_instance_uids: tuple[str, ...] | list[str],
    study_date: str | None,
    institution_name: str | None,
) -> hd.sr.TextContentItem:
    item = _text(cc.SUPPORTING_FINDING, plain(label))  # the UIDs below name the finding
    properties: list[hd.sr.ContentItem] = []
    if series_uid is not None:
        properties.append(
            hd.sr.UIDRefContentItem(cc.SERIES_INSTANCE_UID, series_uid, relationship_type=_HAS_PROPERTIES)
        )
    properties.extend(
        hd.sr.UIDRefContentItem(cc.SOP_INSTANCE_UID, uid, relationship_type=_HAS_PROPERTIES)
        for uid in sop_instance_uids
    )
    if study_date is not None:
        day = datetime.date(int(study_date[:4]), int(study_date[4:6]), int(study_date[6:]))
        properties.append(hd.sr.DateContentItem(cc.STUDY_DATE, day, relationship_type=_HAS_PROPERTIES))
    if institution_name is not None:
        properties.append(_text(cc.INSTITUTION_NAME, institution_name, _HAS_PROPERTIES))
    if properties:
        item.ContentSequence = hd.sr.ContentSequence(properties)
    return item


def _graded_item(g: FindingGrade, result: CriteriaResult) -> hd.sr.TextContentItem:
    f = g.finding
    label = f"findings[{g.index}] {f.describe()}: {g.grade} ({', '.join(g.rules)}); source {f.source}"
    date = f.study_date or (result.context.study_date if result.context else None)
    institution = f.institution_name or (result.context.institution_name if result.context else None)
    return _supporting_item(label, f.series_uid, tuple(f.sop_instance_uids or ()), date, institution)


def _index_item(index: int, result: CriteriaResult, grade: Grade, rules: tuple[str, ...]) -> hd.sr.TextContentItem:
    f = result.document.findings[index]
    label = f"findings[{index}] {f.describe()}: {grade} ({', '.join(rules) or '-'}); source {f.source}"
    return _supporting_item(label, f.series_uid, tuple(f.sop_instance_uids or ()), None, None)


def _claim_item(c: ClaimItem) -> hd.sr.TextContentItem:
    label = f"findings[{c.index}] {c.description}: {c.grade} ({', '.join(c.rules)})"
    return _supporting_item(label, c.series_uid, c.sop_instance_uids, c.study_date, c.institution_name)


def _group(
    *,
    key: str,
    title: str,
    result: CriteriaResult,
    study_instance_uid: str | None,
    finding_type: Code,
    method: Code,
    grade_or_flag: tuple[Code, Code],
    needs_confirmation: bool,
    rules: tuple[str, ...] | list[str],
    extra_evaluations: list[tuple[Code, Code]] | None = None,
    items: Sequence[hd.sr.ContentItem] | None = None,
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    evaluations = [hd.sr.QualitativeEvaluation(*grade_or_flag)]
    evaluations += [hd.sr.QualitativeEvaluation(n, v) for n, v in extra_evaluations or []]
    evaluations.append(hd.sr.QualitativeEvaluation(cc.NEEDS_CONFIRMATION, cc.yes_no(needs_confirmation)))
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=_uid(study_instance_uid, key), identifier=title),
        finding_type=finding_type,
        method=method,
        qualitative_evaluations=evaluations,
    )
    content: list[hd.sr.ContentItem] = [_text(cc.RULESET, result.ruleset)]
    content += [_text(cc.RULE, rule) for rule in rules]
    content += list(items or [])
    group[0].ContentSequence.extend(content)
    return group


def _grade_value(grade: Grade, grading: Grading) -> tuple[Code, Code]:
    """The grade as a coded evaluation: "Not graded" when it is not, never the NONE code."""
    return (cc.GRADE, cc.GRADES[grade] if grading.graded else cc.NOT_GRADED)


def _unassessed_items(grading: Grading) -> list[hd.sr.ContentItem]:
    return [_text(cc.EXAM_NOT_ASSESSED, u.text) for u in grading.unassessed]


def _grade_line(
    name: str, grade: Grade, rules: tuple[str, ...] | list[str], confirm: bool, grading: Grading | None = None
) -> str:
    """ "CSF leak: DEFINITE (CSF-LEAK-DX-2) [needs confirmation]", or "CSF leak: not graded: CT myelography could
    not be assessed: …" when nothing it needs could be assessed; a grade given while an exam could not be assessed
    names that exam after it."""
    if grading is not None and not grading.graded:
        return f"{name}: {NOT_GRADED_WORDS}: {grading.reason}"
    line = f"{name}: {grade}" + (f" ({', '.join(rules)})" if rules else "")
    line += " [needs confirmation]" if confirm else ""
    return line + (f"; {grading.reason}" if grading is not None and grading.unassessed else "")


def _csf_section(result: CriteriaResult, study_uid: str | None) -> ReportSection:
    leak = result.csf_leak
    confirm = result.csf_leak_needs_confirmation
    grading = result.csf_leak_grading
    lines = [_grade_line("CSF leak", leak.grade, [leak.rule], confirm, grading)]
    flags = [f"CSF leak {leak.grade}"] if leak.grade.is_abnormal else []
    groups = [
        _group(
            key="csf-leak-dx",
            title="CSF leak (CSF-LEAK-DX)",
            result=result,
            study_instance_uid=study_uid,
            finding_type=cc.CSF_LEAK,
            method=cc.METHOD_CSF_LEAK_DX,
            grade_or_flag=_grade_value(leak.grade, grading),
            needs_confirmation=confirm,
            rules=[leak.rule] if grading.graded else [],
            items=[_graded_item(g, result) for g in leak.supporting]
            + [_text(cc.NOTE, plain(n)) for n in leak.notes]
            + _unassessed_items(grading),
        )
    ]
    for exam, eg in result.per_exam.items():
        if eg.grading.graded and not any(f.exam == exam for f in result.document.findings):
            continue
        groups.append(_exam_group(exam, eg, result, study_uid))
        if eg.grading.graded:  # the first line already names every exam that could not be assessed
            confirm_exam = result.exam_needs_confirmation(exam)
            lines.append(_grade_line(f"  {EXAM_WORDS[exam]}", eg.grade, eg.rules, confirm_exam))
    lines += [f"  note: {n}" for n in result.notes if "enhancement" in n or "circulation" in n]
    return ReportSection(
        title="CSF leak (CSF-LEAK)", lines=lines, flags=flags, sr_groups=groups, needs_confirmation=confirm
    )


def _exam_group(
    exam: str, eg: ExamGrade, result: CriteriaResult, study_uid: str | None
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    return _group(
        key=f"csf-leak-{exam}",
        title=f"CSF leak, {EXAM_WORDS[exam]}",
        result=result,
        study_instance_uid=study_uid,
        finding_type=cc.CSF_LEAK,
        method=cc.METHOD_CSF_LEAK_EXAM,
        grade_or_flag=_grade_value(eg.grade, eg.grading),
        needs_confirmation=result.exam_needs_confirmation(exam),
        rules=eg.rules,
        extra_evaluations=[(cc.EXAM, cc.EXAMS[exam])],
        items=[_graded_item(g, result) for g in eg.supporting + eg.reported]
        + [_text(cc.NOTE, plain(n)) for n in eg.notes]
        + _unassessed_items(eg.grading),
    )


def _ich_section(result: CriteriaResult, study_uid: str | None) -> ReportSection:
    ich, dx = result.ich, result.ich_dx
    ich_graded, dx_graded = result.ich_grading, result.ich_dx_grading
    lines = [_grade_line(result_title("ich"), ich.grade, ich.rules, result.ich_needs_confirmation, ich_graded)]
    if not ich.applicable:
        lines[0] += f"; not applicable (herniation/Chiari recorded; imaging grade {ich.imaging_grade})"
    if dx_graded.graded:
        lines.append(_grade_line(result_title("ich_dx"), dx.grade, dx.rules, result.ich_dx_needs_confirmation))
    else:  # the same exam as the line above: said once
        brief = "; ".join(u.brief for u in dx_graded.unassessed)
        lines.append(f"{result_title('ich_dx')}: {NOT_GRADED_WORDS}: {brief}")
    if dx.missing:
        lines.append("  missing: " + ", ".join(dx.missing))
    flags = [f"ICH {ich.grade}"] if ich.grade.is_abnormal else []
    flags += ["ICH not applicable"] if not ich.applicable else []
    flags += [f"ICH-DX {dx.grade}"] if dx.grade.is_abnormal else []
    ich_items: list[hd.sr.ContentItem] = [
        _index_item(i, result, Grade.NONE if not ich.applicable else ich.grade, ich.rules) for i in ich.supporting
    ]
    ich_items += [_index_item(i, result, Grade.NONE, ("exclusion",)) for i in ich.excluded_by]
    ich_items += [_text(cc.NOTE, plain(n)) for n in ich.notes]
    dx_items: list[hd.sr.ContentItem] = [_index_item(i, result, dx.grade, dx.rules) for i in dx.supporting]
    dx_items += [_text(cc.MISSING_INPUT, field_words(m)) for m in dx.missing]
    dx_items += [_text(cc.NOTE, plain(n)) for n in dx.notes]
    groups = [
        _group(
            key="ich",
            title="Intracranial hypotension (ICH)",
            result=result,
            study_instance_uid=study_uid,
            finding_type=cc.INTRACRANIAL_HYPOTENSION,
            method=cc.METHOD_ICH,
            grade_or_flag=_grade_value(ich.grade, ich_graded),
            needs_confirmation=result.ich_needs_confirmation,
            rules=ich.rules,
            extra_evaluations=[(cc.APPLICABLE, cc.yes_no(ich.applicable))],
            items=ich_items + _unassessed_items(ich_graded),
        ),
        _group(
            key="ich-dx",
            title="Intracranial hypotension diagnosis (ICH-DX)",
            result=result,
            study_instance_uid=study_uid,
            finding_type=cc.INTRACRANIAL_HYPOTENSION,
            method=cc.METHOD_ICH_DX,
            grade_or_flag=_grade_value(dx.grade, dx_graded),
            needs_confirmation=result.ich_dx_needs_confirmation,
            rules=dx.rules,
            items=dx_items + _unassessed_items(dx_graded),
        ),
    ]
    confirm = result.ich_needs_confirmation or result.ich_dx_needs_confirmation
    return ReportSection(
        title="Intracranial hypotension (ICH, ICH-DX)",
        lines=lines,
        flags=flags,
        sr_groups=groups,
        needs_confirmation=confirm,
    )


def _ebp_section(result: CriteriaResult, study_uid: str | None) -> ReportSection:
    ebp = result.ebp
    if not ebp.grading.graded:  # the leak it rests on was not assessed: cannot be judged, never "not eligible"
        lines = [f"Epidural blood patch: {NOT_GRADED_WORDS}: {ebp.not_judged_reason}"]
    else:
        line = "Epidural blood patch: " + ("eligible" if ebp.eligible else "not eligible") + " (EBP-1)"
        lines = [line + (" [needs confirmation]" if ebp.needs_confirmation else "")]
    if ebp.missing:
        lines.append("  missing: " + ", ".join(ebp.missing))
    if ebp.eligible and ebp.claim_missing:
        lines.append(f"  claim items missing: {', '.join(ebp.claim_missing)}")
    items: list[hd.sr.ContentItem] = [_claim_item(c) for c in ebp.claim]
    items += [_text(cc.MISSING_INPUT, field_words(m)) for m in ebp.missing]
    items += [_text(cc.MISSING_CLAIM_ITEM, m) for m in ebp.claim_missing]
    items += [_text(cc.NOTE, plain(n)) for n in ebp.notes]
    group = _group(
        key="ebp",
        title="Epidural blood patch eligibility (EBP-1)",
        result=result,
        study_instance_uid=study_uid,
        finding_type=cc.EBP_ELIGIBILITY,
        method=cc.METHOD_EBP,
        grade_or_flag=(cc.ELIGIBLE, cc.yes_no(ebp.eligible) if ebp.grading.graded else cc.NOT_GRADED),
        needs_confirmation=ebp.needs_confirmation,
        rules=ebp.rules,
        items=items + _unassessed_items(ebp.grading),
    )
    return ReportSection(
        title="Epidural blood patch (EBP-1)",
        lines=lines,
        flags=["EBP eligible"] if ebp.eligible else [],
        sr_groups=[group],
        needs_confirmation=ebp.needs_confirmation,
    )


def _advice_section(result: CriteriaResult) -> ReportSection | None:
    lines = [f"{s.rule}: {s.text}" for s in result.pathway]
    lines += [f"{', '.join(d.rules)}: {d.text}" for d in result.duro]
    lines += [f"DURO-MSAM-2: {flag}" for flag in result.duro_flags]
    if not lines:
        return None
    flags = ["Duropathy (MSAM) to be considered"] if result.duro_flags else []
    return ReportSection(title="Suggestions (decision support, not a diagnosis)", lines=lines, flags=flags)


def criteria_sections(result: CriteriaResult, study_instance_uid: str | None = None) -> list[ReportSection]:
    """The report sections of one criteria result.

    ``study_instance_uid``: when given, the tracking UIDs of the groups are derived from it (the same
    study keeps the same tracking UIDs across amended reports); otherwise they are new random UIDs.
    """
    if not isinstance(result, CriteriaResult):
        raise TypeError(f"result: expected CriteriaResult, got {type(result).__name__}")
    sections = [
        _csf_section(result, study_instance_uid),
        _ich_section(result, study_instance_uid),
        _ebp_section(result, study_instance_uid),
    ]
    advice = _advice_section(result)
    if advice is not None:
        sections.append(advice)
    return sections
