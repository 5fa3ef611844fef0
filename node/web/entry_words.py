"""Entered findings as a person reads them: words, no field names, no UIDs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_SOURCES = {
    "radiologist": "radiologist",
    "clinical": "clinical details",
    "automated": "automated",
    "imported": "imported",
    "review": "review",
}
_UNITS = {"opening_pressure_mmh2o": " mmH2O"}
_HIDDEN = {
    "exam",
    "kind",
    "levels",
    "source",
    "id",
    "series_uid",
    "sop_instance_uids",
    "confidence",
    "study_instance_uid",
    "study_date",
    "institution_name",
}


def words(key: str) -> str:
    """A field or code name as words ("continuous_with_subarachnoid" -> "continuous with subarachnoid")."""
    return key.replace("_", " ").replace("mri", "MRI").replace("mmh2o", "").strip()


def value_words(key: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "–".join(str(v) for v in value)
    return f"{value}{_UNITS.get(key, '')}" if not isinstance(value, str) else words(value)


def entry_text(source: str, body: Mapping[str, Any]) -> str:
    if source == "clinical":
        return "; ".join(f"{words(k)}: {value_words(k, v)}" for k, v in body.items()) or "no clinical details"
    if source == "review":
        return f"{str(body.get('decision', '')).capitalize()}: {body.get('headline') or body.get('key')}"
    head = f"{words(str(body.get('exam', '')))}: {words(str(body.get('kind', '')))}"
    if body.get("levels"):
        head += " " + value_words("levels", body["levels"])
    rest = [f"{words(k)}: {value_words(k, v)}" for k, v in body.items() if k not in _HIDDEN]
    images = body.get("sop_instance_uids") or []
    if images:
        rest.append(f"on {len(images)} image{'s' if len(images) != 1 else ''}")
    return head + (f" ({'; '.join(rest)})" if rest else "")


def entry_rows(entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The study page's rows of entered findings, each with ``text`` and ``source_words``."""
    return [
        {
            **e,
            "text": entry_text(str(e["source"]), e["body"] or {}),
            "source_words": _SOURCES.get(str(e["source"]), e["source"]),
        }
        for e in entries
    ]
