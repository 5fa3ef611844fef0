"""What the worklist and study pages show, read from the registry (no HTML here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from node.commands.analyse_text import measurement_status, measurement_words
from node.findings.review import latest_report
from node.registry.models import Delivery, DeliveryKind, DeliveryState, Result, ResultKind, Study
from node.registry.views import iso_time, latest_result, list_studies, study_row
from workers.criteria.rule_words import rule_words
from workers.criteria.words import NOT_GRADED_HEADLINES, NOT_GRADED_WORDS, reading_order, result_title
from workers.criteria.words import grade_words as grade_code_words
from workers.results.findings import FindingsReport, NotGraded
from workers.results.findings_build import analyser_words

PRIORITY_ORDER = {"stat": 0, "urgent": 1, "routine": 2, "low": 3}
SEVERITY_CLASS = {"severe": "severe", "moderate": "moderate", "mild": "mild"}
_SEVERE = ("DEFINITE", "CONFIRMED", "≤", "<=")
_MODERATE = ("SUSPECTED", "PROBABLE", "FAIL", "ELIGIBLE")


def badge_class(text: str) -> str:
    """Colour of a flag or grade: ``severe`` (red), ``moderate`` (amber), ``info`` (blue), ``none`` (grey)."""
    upper = str(text).upper()
    if upper in ("NONE", "NOT_APPLICABLE", "FALSE", "NO", "UNKNOWN", ""):
        return "none"
    if "MISSING" in upper:  # a protocol or criteria input that is missing: information, not a finding
        return "info"
    if any(word in upper for word in _SEVERE) or upper.startswith("ADC"):
        return "severe"
    if any(word in upper for word in _MODERATE):
        return "moderate"
    return "info"


def _abnormal(row: dict[str, Any]) -> bool:
    """The row shows a finding or an abnormal grade (:func:`_with_findings` puts them in the row)."""
    return bool(row.get("finding_items") or row.get("grade_items"))


def sort_worklist(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """stat > urgent > routine > low (unknown priorities after routine); within a priority the studies with an
    abnormal finding or grade before the normal and the not assessed ones; then newest first."""
    newest_first = sorted(rows, key=lambda r: r.get("received_at") or "", reverse=True)
    return sorted(
        newest_first,
        key=lambda r: (PRIORITY_ORDER.get(str(r.get("priority")).lower(), 2.5), 0 if _abnormal(r) else 1),
    )


def study_date_words(value: Any) -> str:
    """A DICOM date as 2026-12-01 (anything else as given; "—" when empty)."""
    text = str(value or "")
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text or "—"


def grade_words(value: Any) -> str:
    """A grade or a boolean as words ("STRONGLY_SUSPECTED" -> "strongly suspected", True -> "yes")."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return grade_code_words(str(value))


def grade_items(grades: dict[str, Any]) -> list[dict[str, str]]:
    items = []
    for key, value in grades.items():
        if value is None:
            continue
        code = ("yes" if value else "no") if isinstance(value, bool) else str(value)
        words = grade_words(value)
        items.append({"key": key, "label": result_title(key), "grade": words, "code": code, "class": badge_class(code)})
    return items


def not_graded_item(item: NotGraded) -> dict[str, str]:
    """A result that is not graded, as a badge: its title, "not graded" (information, not a finding) and why."""
    return {
        "key": item.result,
        "label": item.title,
        "grade": NOT_GRADED_WORDS,
        "code": "NONE",
        "class": "info",
        "reason": item.reason,
    }


def finding_items(report: FindingsReport) -> list[dict[str, Any]]:
    """The coded findings for a page: label, severity class, confirmation state and what can be done."""
    return [
        {
            "key": f.key,
            "text": f.label,
            "detail": f.detail,
            "severity": f.severity.value,
            "class": SEVERITY_CLASS[f.severity.value],
            "needs_confirmation": f.needs_confirmation,
            "reviewable": f.reviewable and f.needs_confirmation,
            "low_confidence": f.low_confidence,
        }
        for f in report.findings
    ]


def delivery_summary(row: dict[str, Any]) -> dict[str, str]:
    """One line for the worklist: the state of the current revision's result deliveries."""
    current = [d for d in row["deliveries"] if d["revision"] == row["revision"] and d["kind"] == DeliveryKind.RESULTS]
    if not current:
        return {"text": "—" if not row["deliveries"] else "earlier revision only", "class": "none"}
    states = sorted({d["state"] for d in current})
    cls = {  # the worst state first
        DeliveryState.DEAD: "severe",
        DeliveryState.PENDING: "moderate",
        DeliveryState.SENDING: "info",
        DeliveryState.DELIVERED: "ok",
    }
    worst = next((s for s in cls if s in states), states[0])
    return {"text": ", ".join(f"{d['destination']}: {d['state']}" for d in current), "class": cls.get(worst, "info")}


#: Grades that a coded finding of the same report already shows.
_SHOWN_AS_FINDING = {"csf_leak": "csf_leak", "ich": "intracranial_hypotension"}


def _with_findings(session: Session, study: Study, row: dict[str, Any]) -> FindingsReport:
    report = latest_report(session, study)
    kinds = {f.kind.value for f in report.findings}
    row["finding_items"] = finding_items(report)
    row["not_assessable"] = report.not_assessable_lines
    row["protocol_notes"] = [n.text for n in report.relevant_notes]
    row["other_notes"] = [n.text for n in report.notes if not n.relevant]
    row["rejected_findings"] = [f.headline for f in report.rejected]
    shown = {n.result for n in report.not_graded}  # a result not graded is said so, never by its NONE code
    row["grade_items"] = [  # abnormal grades: right after the findings, before what could not be assessed
        g
        for g in grade_items(row["grades"])
        if g["class"] != "none" and _SHOWN_AS_FINDING.get(g["key"]) not in kinds and g["key"] not in shown
    ]
    row["not_graded_items"] = [  # not the ICH of every spine study: a study without a brain MRI has nothing failed
        not_graded_item(n) for n in report.not_graded if n.result in NOT_GRADED_HEADLINES and not n.exam_absent
    ]
    row["no_finding_words"] = report.no_finding_words
    return report


def worklist(session: Session, *, with_phi: bool) -> list[dict[str, Any]]:
    rows = list_studies(session, with_phi=with_phi)
    uids = [r["study_uid"] for r in rows]
    by_uid = {s.study_uid: s for s in session.scalars(select(Study).where(Study.study_uid.in_(uids)))}
    for row in rows:
        _with_findings(session, by_uid[row["study_uid"]], row)
        row["delivery"] = delivery_summary(row)
    return sort_worklist(rows)  # after the findings: an abnormal study leads the normal ones of its priority


def card_path(session: Session, study: Study) -> Path | None:
    result = latest_result(session, study, ResultKind.SC)
    return Path(result.path) if result is not None and Path(result.path).exists() else None


def criteria_rows(session: Session, study: Study, report: FindingsReport | None = None) -> list[dict[str, Any]]:
    """Grades from the latest SR's criteria result, each with what its rules say, in the reading order of every
    view (:func:`~workers.criteria.words.reading_order`: abnormal grades first, then those not graded, then the
    rest). A result the ``report`` says is not graded reads "not graded" with the reason (an exam's only when the
    CSF-leak grade itself is given: else that one says it)."""
    result = latest_result(session, study)
    criteria = ((result.summary or {}).get("criteria") or {}) if result is not None else {}
    not_graded = {n.result: n for n in (report.not_graded if report is not None else ())}
    rows: dict[str, dict[str, Any]] = {}
    leak = criteria.get("csf_leak")
    if isinstance(leak, dict):
        rows["csf_leak"] = _criteria_row("csf_leak", str(leak.get("grade")), leak, not_graded.get("csf_leak"))
    for exam, part in (criteria.get("per_exam") or {}).items():  # the exams the CSF-leak grade rests on
        if isinstance(part, dict) and exam in not_graded and "csf_leak" not in not_graded:
            rows[exam] = _criteria_row(exam, "NONE", part, not_graded[exam])
        elif isinstance(part, dict) and part.get("grade") not in (None, "NONE"):
            rows[exam] = _criteria_row(exam, str(part.get("grade")), part)
    for key in ("ich", "ich_dx"):
        part = criteria.get(key)
        if isinstance(part, dict):
            rows[key] = _criteria_row(key, str(part.get("grade")), part, not_graded.get(key))
    ebp = criteria.get("ebp")
    if isinstance(ebp, dict):
        grade = "ELIGIBLE" if ebp.get("eligible") else "NONE"
        rows["ebp_eligible"] = _criteria_row("ebp_eligible", grade, ebp, not_graded.get("ebp_eligible"))
    shown = [(key, row["code"]) for key, row in rows.items()]
    held_back = {key for key, row in rows.items() if row["grade"] == NOT_GRADED_WORDS}  # with its reason
    return [rows[key] for key, _ in reading_order(shown, not_graded=held_back)]


def _criteria_row(key: str, grade: str, part: dict[str, Any], not_graded: NotGraded | None = None) -> dict[str, Any]:
    if not_graded is not None:
        return {**not_graded_item(not_graded), "rules": [], "needs_confirmation": False}
    return {
        "label": result_title(key),
        "grade": grade_words(grade),
        "code": grade,
        "class": badge_class(grade),
        "reason": "",
        "rules": [{"id": r, "words": rule_words(r)} for r in dict.fromkeys(part.get("rules") or []) if r],
        "needs_confirmation": bool(part.get("needs_confirmation")),
    }


def sr_chain(session: Session, study: Study) -> list[dict[str, Any]]:
    """Issued SRs, newest first, each with the SR it amends and the SR that amended it."""
    srs = session.scalars(
        select(Result).where(Result.study_id == study.id, Result.kind == ResultKind.SR).order_by(Result.revision.desc())
    ).all()
    amended_by = {r.predecessor_uid: r for r in srs if r.predecessor_uid}
    revision_of = {r.sop_instance_uid: r.revision for r in srs}
    return [
        {
            "revision": r.revision,
            "sop_instance_uid": r.sop_instance_uid,
            "created_at": iso_time(r.created_at),
            "amends": r.predecessor_uid,
            "amends_revision": revision_of.get(r.predecessor_uid or ""),
            "amended_by": amended_by[r.sop_instance_uid].revision if r.sop_instance_uid in amended_by else None,
            "flags": list((r.summary or {}).get("flags") or []),
        }
        for r in srs
    ]


def deliveries(session: Session, study: Study) -> list[dict[str, Any]]:
    rows = session.scalars(select(Delivery).where(Delivery.study_id == study.id).order_by(Delivery.id.desc())).all()
    return [
        {
            "id": d.id,
            "revision": d.revision,
            "destination": d.destination,
            "kind": d.kind,
            "state": d.state.value,
            "attempts": len(d.attempts),
            "last_error": d.last_error,
            "last_attempt_at": iso_time(d.attempts[-1].started_at) if d.attempts else None,
            "next_attempt_at": iso_time(d.next_attempt_at) if d.state == DeliveryState.PENDING else None,
            "delivered_at": iso_time(d.delivered_at),
            "can_retry": d.state in (DeliveryState.PENDING, DeliveryState.DEAD),
        }
        for d in rows
    ]


def qc_lines(verdicts: list[dict[str, Any]]) -> list[str]:
    """The QC verdicts in words, one line per output, verdict and reason (with how many series it concerns)."""
    counts: dict[str, int] = {}
    for v in verdicts:
        status = str(v.get("status"))
        text = f"{analyser_words(str(v.get('analyser')))}: {status}"
        text += f" ({v['reason']})" if v.get("reason") else ""
        text += ", not graded" if status != "ok" else ""
        counts[text] = counts.get(text, 0) + 1
    return [text + (f" — {n} series" if n > 1 else "") for text, n in counts.items()]


def not_assessable_beside(report: FindingsReport, verdicts: list[dict[str, Any]]) -> list[str]:
    """What could not be assessed that no QC verdict line says (a step that failed): an output whose verdict is not
    ok is said once, by its verdict line (``qc_lines``), not a second time as "not assessable"."""
    said = {
        (analyser_words(str(v.get("analyser"))), str(v.get("reason") or ""))
        for v in verdicts
        if v.get("status") != "ok"
    }
    rest = FindingsReport(not_assessable=tuple(n for n in report.not_assessable if (n.what, n.reason) not in said))
    return rest.not_assessable_lines


def ok_measurements(measurements: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> list[str]:
    """The measurements of outputs whose QC verdict is ok, in words (the others are not shown: not graded)."""
    status = {(str(v.get("analyser")), str(v.get("series_uid"))): str(v.get("status")) for v in verdicts}
    return [measurement_words(m) for m in measurements if measurement_status(m, status) == "ok"]


def study_page(session: Session, study: Study) -> dict[str, Any]:
    """The study page, abnormal first: findings, then what could not be assessed and why (``qc_lines``), and
    only below the grades the outputs that were ok (``qc_ok_lines``) with their measurements."""
    row = study_row(session, study, with_phi=True)
    report = _with_findings(session, study, row)
    row["criteria"] = criteria_rows(session, study, report)
    row["srs"] = sr_chain(session, study)
    row["delivery_rows"] = deliveries(session, study)
    row["has_card"] = card_path(session, study) is not None
    verdicts = list(row.get("qc") or [])
    row["not_assessable"] = not_assessable_beside(report, verdicts)
    row["qc_lines"] = qc_lines([v for v in verdicts if v.get("status") != "ok"])
    row["qc_ok_lines"] = qc_lines([v for v in verdicts if v.get("status") == "ok"])
    result = latest_result(session, study)
    measurements = list((result.summary or {}).get("measurements") or []) if result is not None else []
    row["measurements"] = ok_measurements(measurements, verdicts)
    return row
