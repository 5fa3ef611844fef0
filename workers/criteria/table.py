"""The readable table that ``spinenode criteria FILE`` prints without ``--json``."""

from __future__ import annotations

from workers.criteria.result import CriteriaResult


def _row(item: str, grade: str, rules: str, detail: str) -> str:
    return f"{item:<20} {grade:<20} {rules:<34} {detail}".rstrip() + "\n"


def _confirm(flag: bool) -> str:
    return " (automated: needs confirmation)" if flag else ""


def render_table(result: CriteriaResult) -> str:
    """Summary table: grades with rules and findings, then findings, suggestions and notes."""
    out = [f"Rule set: {result.ruleset}\n\n", _row("ITEM", "GRADE", "RULES", "FINDINGS / DETAIL")]
    leak = result.csf_leak
    refs = ", ".join(f"#{i}" for i in result.csf_leak_indices) or "-"
    out.append(_row("CSF leak", str(leak.grade), leak.rule, refs + _confirm(result.csf_leak_needs_confirmation)))
    for exam, eg in result.per_exam.items():
        refs = ", ".join(f"#{g.index}" for g in eg.supporting) or "-"
        out.append(
            _row(
                f"  {exam}",
                str(eg.grade),
                ", ".join(eg.rules) or "-",
                refs + _confirm(result.exam_needs_confirmation(exam)),
            )
        )
    ich = result.ich
    ich_detail = ", ".join(f"#{i}" for i in ich.supporting) or "-"
    if not ich.applicable:
        ich_detail = f"not applicable (imaging grade {ich.imaging_grade})"
    out.append(
        _row(
            "ICH",
            str(ich.grade),
            ", ".join(ich.rules) or "-",
            ich_detail + _confirm(result.ich_needs_confirmation),
        )
    )
    dx = result.ich_dx
    out.append(
        _row(
            "ICH-DX",
            str(dx.grade),
            ", ".join(dx.rules) or "-",
            "missing: " + (", ".join(dx.missing) or "none"),
        )
    )
    ebp = result.ebp
    detail = (f"{ebp.not_judged_reason}; " if not ebp.grading.graded else "") + "missing: "
    detail += ", ".join(ebp.missing) or "none"
    if ebp.claim_missing:
        detail += f"; claim items missing: {len(ebp.claim_missing)}"
    out.append(
        _row(
            "EBP",
            "eligible" if ebp.eligible else ("not eligible" if ebp.grading.graded else "not graded"),
            ", ".join(ebp.rules),
            detail + _confirm(ebp.needs_confirmation),
        )
    )
    if result.document.findings:
        out.append("\nFindings:\n")
        for item in result.to_json()["findings"]:
            text = result.document.findings[item["index"]].describe()
            out.append(
                f"  #{item['index']} {text} [{item['source']}] {item['grade']} {', '.join(item['rules']) or '-'}\n"
            )
    if ebp.claim_missing:
        out.append("\nEBP claim items missing:\n")
        out.extend(f"  {m}\n" for m in ebp.claim_missing)
    advice = [f"  {s.rule}: {s.text}\n" for s in result.pathway]
    advice += [f"  {', '.join(d.rules)}: {d.text}\n" for d in result.duro]
    advice += [f"  DURO-MSAM-2: {flag}\n" for flag in result.duro_flags]
    if advice:
        out.append("\nSuggestions (not a diagnosis):\n")
        out.extend(advice)
    notes = list(result.notes) + list(leak.notes) + list(ich.notes) + list(dx.notes) + list(ebp.notes)
    if notes:
        out.append("\nNotes:\n")
        out.extend(f"  {n}\n" for n in dict.fromkeys(notes))
    return "".join(out)
