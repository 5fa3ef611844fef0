"""A findings-document error as the study page's form says it: the finding by its number, exam and kind, the
field by the name a person filled in, the reason in words (the JSON API keeps the machine message).

"findings[0].pattern: Input should be 'unilateral_localized', …" becomes "Finding 1 (RI cisternography,
epidural accumulation): pattern must be one of unilateral localized, asymmetric, symmetric cervicothoracic or
symmetric lumbar".
"""

from __future__ import annotations

from collections.abc import Sequence

from node.findings.workflow import WITH_ACTIVE
from node.web.worklist import grade_words as code_words
from workers.criteria import FindingsError
from workers.criteria.findings import Problem
from workers.criteria.words import EXAM_WORDS
from workers.results.card_words import field_words

#: Fields whose name with spaces is not what a person calls them (the form labels the others so).
_FIELD_LABELS = {
    "study_instance_uid": "study UID",
    "series_uid": "series UID",
    "sop_instance_uids": "image UIDs",
    "raw_json": "the JSON document",
}


def _or_list(values: Sequence[str]) -> str:
    words = [EXAM_WORDS.get(v) or code_words(v) for v in values]
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else "".join(words)


def _finding_name(document: object, index: int) -> str:
    findings = document.get("findings") if isinstance(document, dict) else None
    finding = findings[index] if isinstance(findings, list) and 0 <= index < len(findings) else None
    exam = finding.get("exam") if isinstance(finding, dict) else None
    kind = finding.get("kind") if isinstance(finding, dict) else None
    what = [EXAM_WORDS[exam]] if isinstance(exam, str) and exam in EXAM_WORDS else []
    what += [code_words(kind)] if isinstance(kind, str) and kind else []
    return f"Finding {index + 1}" + (f" ({', '.join(what)})" if what else "")


def _field(path: tuple[int | str, ...]) -> str:
    """The field a person filled in: ``("levels", 0)`` -> "upper level"."""
    if not path:
        return ""
    name = str(path[0])
    if name == "levels" and len(path) > 1 and isinstance(path[1], int):
        return {0: "upper level", 1: "lower level"}.get(path[1], f"level {path[1] + 1}")
    return _FIELD_LABELS.get(name, name.replace("_", " "))


def _reason(problem: Problem) -> tuple[str, str]:
    """What is wrong, and how it joins the field's name: a predicate ("must be …") after a space, the
    validator's or the form's own clause ("unknown level 'T13'", "choose …") after a colon."""
    value = problem.value
    if problem.kind in ("literal_error", "kind_of_exam") and problem.allowed:
        given = f", not {value!r}" if isinstance(value, str | int | float) else ""
        return f"must be one of {_or_list(problem.allowed)}{given}", " "
    if problem.kind == "not_applicable":
        return "does not apply to this kind of finding (leave it empty)", " "
    if problem.kind == "required_for_kind":
        return "must be given for this kind of finding", " "
    if problem.kind == "missing":
        return "must be given", " "
    if problem.kind == "extra_forbidden":
        return "is not something the findings document can hold", " "
    if problem.kind == "bool_type":
        return "must be yes or no", " "
    if problem.kind == "duplicate_id":
        return f"{value!r} is already used by another finding", " "
    text = problem.message
    return (text[0].lower() + text[1:] if text[:1].isupper() and text[1:2].islower() else text), ": "


def problem_words(problem: Problem, document: object) -> str:
    """One problem as a sentence naming the finding (or the clinical details) and the field."""
    path = problem.path
    reason, sep = _reason(problem)
    if problem.kind == "extra_forbidden" and path:  # the unknown key as it was typed
        return _capital(f"{_owner(path[:-1], document)}{path[-1]!r} {reason}")
    if len(path) >= 2 and path[0] == "findings" and isinstance(path[1], int):
        field = _field(path[2:])
        return f"{_finding_name(document, path[1])}: {field + sep if field else ''}{reason}"
    if path and path[0] == "clinical":
        field = field_words(".".join(str(p) for p in path)) if len(path) > 1 else "clinical details"
        return f"Clinical details: {field}{sep}{reason}"
    if path and path[0] == "form":
        return _capital(reason)
    field = _field(path)
    return _capital(f"{field}{sep}{reason}" if field else f"the document {reason}")


def _owner(path: tuple[int | str, ...], document: object) -> str:
    if len(path) == 2 and path[0] == "findings" and isinstance(path[1], int):
        return f"{_finding_name(document, path[1])}: "
    return "Clinical details: " if path[:1] == ("clinical",) else ""


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def error_words(error: FindingsError) -> str:
    """The whole error in words, one sentence per problem; the machine message where none is recorded."""
    if not error.problems:
        return str(error)
    words = [problem_words(p, error.document) for p in error.problems]
    prefix = "Together with the study's active findings: " if str(error).startswith(WITH_ACTIVE) else ""
    return prefix + "; ".join(dict.fromkeys(words))
