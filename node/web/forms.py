"""The findings entry form of the study page, turned into a findings document (the findings contract).

The structured part gives one finding (exam, kind, levels, pattern, enhancement, the yes/no/unknown
attributes) and the clinical object; the raw JSON textarea, when filled, is the whole document instead.
Only what was filled in is sent, so attributes that do not apply to a kind stay absent; the document is
then validated by :func:`workers.criteria.parse_findings` like any API request.
"""

from __future__ import annotations

import json
import math
from typing import Any

from workers.criteria import FindingsError
from workers.criteria.findings import EXAMS, KINDS, Problem
from workers.criteria.words import EXAM_WORDS

TRISTATE = ("continuous_with_subarachnoid", "continuous_with_puncture_site", "dural_defect", "cisternal_filling_seen")
CHOICES = ("pattern", "enhancement")
FORM_FIELDS = (
    "exam",
    "kind",
    "level_upper",
    "level_lower",
    *CHOICES,
    *TRISTATE,
    "orthostatic_headache",
    "opening_pressure_mmh2o",
    "opening_pressure_position",
    "raw_json",
)


def _error(path: tuple[int | str, ...], text: str, value: object = None, document: object = None) -> FindingsError:
    """An error of the form itself, in the shape :func:`workers.criteria.parse_findings` gives."""
    name = ".".join(str(p) for p in path if not isinstance(p, int) and p != "findings")
    return FindingsError(f"{name}: {text}", [Problem(path, "form", text, value)], document)


def _tristate(path: tuple[int | str, ...], value: str, document: object = None) -> bool | None:
    if value in ("", "unknown"):
        return None
    if value in ("true", "yes"):
        return True
    if value in ("false", "no"):
        return False
    raise _error(path, f"choose yes, no or unknown, got {value!r}", value, document)


def document_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The findings document a filled-in form stands for; raises :class:`FindingsError` naming the field."""
    values = {k: str(form.get(k) or "").strip() for k in FORM_FIELDS}
    if values["raw_json"]:
        try:
            parsed = json.loads(values["raw_json"])
        except json.JSONDecodeError as exc:
            raise _error(("raw_json",), f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(parsed, dict):
            raise _error(("raw_json",), f"must be a JSON object, got {type(parsed).__name__}")
        return parsed
    document: dict[str, Any] = {}
    finding = _finding(values)
    if finding is not None:
        document["findings"] = [finding]
    clinical = _clinical(values)
    if clinical:
        document["clinical"] = clinical
    if not document:
        raise _error(("form",), "choose an exam and a kind, or give clinical data, or paste a JSON document")
    return document


def _finding(values: dict[str, str]) -> dict[str, Any] | None:
    exam, kind = values["exam"], values["kind"]
    if not exam and "/" in kind:  # the form's kind list is "exam/kind"
        exam, kind = kind.split("/", 1)
    touched = any(values[k] and values[k] != "unknown" for k in ("level_upper", "level_lower", *CHOICES, *TRISTATE))
    if not exam and not kind:
        if touched:
            raise _error(("exam",), "choose the exam and kind of the finding")
        return None
    if not exam:
        raise _error(("exam",), f"choose the exam for kind {kind.replace('_', ' ')!r}", kind)
    if not kind:
        raise _error(("kind",), f"choose a kind of finding for exam {EXAM_WORDS.get(exam, exam)!r}", exam)
    if "/" in kind and kind.split("/", 1)[0] == exam:  # the form's kind list is "exam/kind"
        kind = kind.split("/", 1)[1]
    finding: dict[str, Any] = {"exam": exam, "kind": kind}
    levels = [v for v in (values["level_upper"], values["level_lower"]) if v]
    if levels:
        finding["levels"] = levels
    for name in CHOICES:
        if values[name]:
            finding[name] = values[name]
    for name in TRISTATE:
        flag = _tristate(("findings", 0, name), values[name], {"findings": [finding]})
        if flag is not None:
            finding[name] = flag
    finding["source"] = "radiologist"
    return finding


def _clinical(values: dict[str, str]) -> dict[str, Any]:
    clinical: dict[str, Any] = {}
    headache = _tristate(("clinical", "orthostatic_headache"), values["orthostatic_headache"])
    if headache is not None:
        clinical["orthostatic_headache"] = headache
    if values["opening_pressure_mmh2o"]:
        raw = values["opening_pressure_mmh2o"]
        try:
            pressure = float(raw)
        except ValueError:
            raise _error(("clinical", "opening_pressure_mmh2o"), f"must be a number, got {raw!r}", raw) from None
        if not math.isfinite(pressure):
            raise _error(("clinical", "opening_pressure_mmh2o"), f"must be a finite number, got {raw!r}", raw)
        clinical["opening_pressure_mmh2o"] = pressure
    if values["opening_pressure_position"]:
        clinical["opening_pressure_position"] = values["opening_pressure_position"]
    return clinical


def form_choices() -> dict[str, Any]:
    """Options of the form's select boxes (from the criteria engine's own vocabulary)."""
    return {
        "exams": list(EXAMS),
        "kinds": [(exam, kind) for exam in EXAMS for kind in KINDS[exam]],
        "patterns": ["unilateral_localized", "asymmetric", "symmetric_cervicothoracic", "symmetric_lumbar"],
        "enhancements": ["absent", "present", "not_assessed"],
        "tristate": list(TRISTATE),
        "positions": ["supine", "lateral", "sitting"],
        "levels": [f"C{i}" for i in range(1, 8)]
        + [f"T{i}" for i in range(1, 13)]
        + [f"L{i}" for i in range(1, 6)]
        + ["S1"],
    }
