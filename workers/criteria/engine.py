"""``evaluate``: apply the whole rule book to one findings document."""

from __future__ import annotations

from workers.criteria.context import StudyContext
from workers.criteria.findings import FindingsDocument
from workers.criteria.grading import csf_grading, exam_grading, ich_dx_grading, ich_grading
from workers.criteria.result import CSF_EXAMS, RULESET_VERSION, CriteriaResult, ExamGrade
from workers.criteria.rules_csf import (
    NOTE_CIRCULATION_NOT_JUDGEABLE,
    NOTE_ENHANCEMENT_NOT_ASSESSABLE,
    Circulation,
    FindingGrade,
    diagnose_csf_leak,
    grade_finding,
)
from workers.criteria.rules_guidance import duro_guidance, duro_msam_2, evaluate_ebp, suggest_pathway
from workers.criteria.rules_ich import grade_ich, grade_ich_dx


def evaluate(doc: FindingsDocument, context: StudyContext | None = None) -> CriteriaResult:
    """Grade every finding, diagnose CSF leak, ICH and ICH-DX, EBP-1, and add PATHWAY and DURO advice."""
    if not isinstance(doc, FindingsDocument):
        raise TypeError(f"doc: expected FindingsDocument, got {type(doc).__name__}")
    if context is not None and not isinstance(context, StudyContext):
        raise TypeError(f"context: expected StudyContext or None, got {type(context).__name__}")
    findings = list(doc.findings)
    circulation = Circulation.from_findings(findings)
    post_contrast = context.spinal_mr_post_contrast if context is not None else None
    graded: list[FindingGrade] = []
    for index, finding in enumerate(findings):
        g = grade_finding(index, finding, circulation, post_contrast)
        if g is not None:
            graded.append(g)
    diagnosis = diagnose_csf_leak(graded)
    per_exam = {exam: ExamGrade.of(exam, graded, exam_grading(exam, findings, context)) for exam in CSF_EXAMS}
    ich = grade_ich(findings)
    ich_dx = grade_ich_dx(doc.clinical, findings, ich)
    ich_graded = ich_grading(ich.grade, ich.applicable, findings, context)
    leak_grading = csf_grading(diagnosis.grade, findings, context)
    ebp = evaluate_ebp(doc, diagnosis, context, leak_grading=leak_grading)
    pathway = suggest_pathway(doc, diagnosis, context)
    duro = duro_guidance(graded, context)
    collections = [
        g.finding.level_range for g in graded if (g.finding.exam, g.finding.kind) == ("spinal_mri", "epidural_fluid")
    ]
    msam = duro_msam_2(context.anterior_horn_hyperintensity if context else None, collections)
    notes: list[str] = []
    not_assessable = [g.index for g in graded if NOTE_ENHANCEMENT_NOT_ASSESSABLE in g.notes]
    if not_assessable:
        where = ", ".join(f"findings[{i}]" for i in not_assessable)
        notes.append(f"enhancement not assessable ({where}): CSF-LEAK-MR-2 and CSF-LEAK-MR-4 cannot fire")
    if circulation.not_judgeable:
        where = ", ".join(f"findings[{i}]" for i in circulation.not_judgeable)
        notes.append(f"{NOTE_CIRCULATION_NOT_JUDGEABLE} ({where})")
    if not ich.applicable:
        notes.append("ICH grade not applicable: brain herniation or Chiari malformation recorded")
    return CriteriaResult(
        ruleset=RULESET_VERSION,
        document=doc,
        graded=tuple(graded),
        csf_leak=diagnosis,
        per_exam=per_exam,
        ich=ich,
        ich_dx=ich_dx,
        ebp=ebp,
        pathway=pathway,
        duro=duro,
        duro_flags=(msam,) if msam else (),
        notes=tuple(notes),
        context=context,
        csf_leak_grading=leak_grading,
        ich_grading=ich_graded,
        ich_dx_grading=ich_dx_grading(ich_dx.grade, ich_graded),
    )
