"""The text that ``spinenode analyse`` prints for a person: the abnormal findings first, in words, then what
could not be assessed and why, then the grades, quality verdicts and measurements.

The JSON output keeps the contract's names and codes; this view turns them into words.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workers.criteria.words import EXAM_WORDS, NOT_GRADED_WORDS, reading_order, result_title
from workers.results.card_words import plain
from workers.results.findings import FindingsReport, NotGraded
from workers.results.findings_build import analyser_words

#: The contract's measurement names (architecture.md) as words, with the unit as a person writes it.
MEASUREMENT_WORDS = {
    "cord_csa": ("cord area", "mm²"),
    "cord_ap_diameter": ("cord AP diameter", "mm"),
    "cord_rl_diameter": ("cord RL diameter", "mm"),
    "cord_compression_ratio": ("cord AP/RL ratio", ""),
    "cord_mscc": ("cord compression (MSCC)", "%"),
    "cord_fa": ("cord FA", ""),
    "cord_md": ("cord MD", "×10⁻³ mm²/s"),
    "cord_mtr": ("cord MTR", "%"),
    "marrow_adc": ("marrow ADC", "×10⁻³ mm²/s"),
    "cord_csa_zscore": ("cord area z-score", ""),
}
#: The grades the text lists, in this order (their titles: :data:`workers.criteria.words.RESULT_TITLES`).
GRADE_KEYS = ("csf_leak", "ich", "ich_dx")
QC_WORDS = {"ok": "ok", "unreliable": "unreliable", "failed": "failed"}


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


#: The analyser whose QC verdict covers a measurement (by the contract's measurement name).
MEASURED_BY = {"cord_fa": "cord_dti", "cord_md": "cord_dti", "cord_mtr": "cord_mtr", "marrow_adc": "marrow_adc"}


def measured_by(name: str) -> str:
    """The analyser whose QC verdict covers the measurement ``name`` (a contract name)."""
    return MEASURED_BY.get(name, "cord_morphometry" if name.startswith("cord_") else "")


#: Measurements taken at the cord's narrowest slice, not averaged over the level like the area and diameters
#: beside them (the ratio of the level's mean AP and RL diameters is not this ratio).
AT_NARROWEST = frozenset({"cord_compression_ratio", "cord_mscc"})


def measurement_words(m: Mapping[str, Any]) -> str:
    """One measurement (contract JSON) as a person reads it: "cord area at C5: 71.2 mm²", "cord AP/RL ratio at
    the narrowest slice (C5): 0.355"."""
    name, unit = MEASUREMENT_WORDS.get(str(m["name"]), (str(m["name"]).replace("_", " "), str(m["unit"])))
    if m.get("level") and str(m["name"]) in AT_NARROWEST:
        level = f" at the narrowest slice ({m['level']})"
    else:
        level = f" at {m['level']}" if m.get("level") else " (whole series)"
    return f"{name}{level}: {_number(float(m['value']))} {unit}".rstrip()


def measurement_status(m: Mapping[str, Any], verdicts: Mapping[tuple[str, str], str]) -> str:
    """The QC status of the output a measurement belongs to (``ok`` where no verdict names it)."""
    return verdicts.get((measured_by(str(m["name"])), str(m["series_uid"])), "ok")


def _measurement(m: Mapping[str, Any], verdicts: Mapping[tuple[str, str], str]) -> str:
    status = measurement_status(m, verdicts)
    mark = f" — {status} output, not graded" if status != "ok" else ""
    return measurement_words(m) + mark


def _candidate(c: Mapping[str, Any]) -> str:
    levels = "–".join(c.get("levels") or [])
    exam = EXAM_WORDS.get(str(c["exam"]), str(c["exam"]).replace("_", " "))
    return f"{exam}: {str(c['kind']).replace('_', ' ')}{' ' + levels if levels else ''}"


def _grade(code: str, not_graded: NotGraded | None) -> str:
    """A grade in words, or "not graded" and why when its exams could not be assessed."""
    return f"{NOT_GRADED_WORDS} ({not_graded.reason})" if not_graded is not None else plain(code)


def _findings_lines(report: FindingsReport) -> list[str]:
    if not report.findings:
        return [f"  {report.no_finding_words}"]
    lines = []
    for f in report.findings:
        confirm = " — needs confirmation" if f.needs_confirmation else ""
        lines.append(f"  {f.severity.value.upper()}: {f.label}{confirm}")
        if f.detail:
            lines.append(f"      {f.detail}")
    return lines


def study_text(study: Mapping[str, Any], report: FindingsReport | None) -> str:
    """One study as a person reads it; ``report`` is None when no series could be analysed."""
    lines = [f"study {study['study_uid']}: {len(study['series'])} series"]
    if report is not None:
        lines += ["Findings:", *_findings_lines(report)]
        if report.not_assessable:
            lines.append("Not assessable (not graded):")
            lines += [f"  {line}" for line in report.not_assessable_lines]
        if report.relevant_notes:
            lines.append("Protocol notes (not findings):")
            lines += [f"  {n.text}" for n in report.relevant_notes]
    codes = [
        (key, str(part["grade"]))
        for key in GRADE_KEYS
        if isinstance(part := (study.get("criteria") or {}).get(key), dict) and "grade" in part
    ]
    why = {key: n for key, _ in codes if report is not None and (n := report.not_graded_of(key)) is not None}
    grades = [f"  {result_title(key)}: {_grade(code, why.get(key))}" for key, code in reading_order(codes, why)]
    if grades:
        lines += ["Grades:", *grades]
    if study["candidates"]:
        lines.append("Automated candidates:")
        lines += [f"  {_candidate(c)}" for c in study["candidates"]]
    if study["qc"]:
        lines.append("Quality of each output:")
    for v in sorted(study["qc"], key=lambda v: v["status"] == "ok"):  # the outputs not ok first
        what = analyser_words(str(v["analyser"]))
        reason = f": {v['reason']}" if v["reason"] else ""
        lines.append(f"  {what} (series …{v['series_uid'][-12:]}): {QC_WORDS.get(v['status'], v['status'])}{reason}")
    if study["measurements"]:
        lines.append("Measurements:")
        verdicts = {(str(v["analyser"]), str(v["series_uid"])): str(v["status"]) for v in study["qc"]}
        lines += [f"  {_measurement(m, verdicts)}" for m in study["measurements"]]
    lines += [f"  segmentation: {s['path']}" for s in study["segmentations"]]
    lines += [f"  error: {e}" for e in study["errors"]]
    lines += [f"  skipped: {s['path']} ({s['reason']})" for s in study.get("skipped", [])]
    return "\n".join(lines)
