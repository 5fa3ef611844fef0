"""Finishing touches on an encoded SR content tree: numbers at a meaningful precision, every container
SEPARATE so that item-by-item readers (DCMTK ``dsr2html``) show each item under its concept name, and tracking
UIDs that stay the same across amendments (derived from the study and the group's tracking identifier, so a
viewer follows the same measurement from one report to the next whichever step built the group)."""

from __future__ import annotations

import math

from pydicom.dataset import Dataset
from pydicom.valuerep import DSfloat

SIGNIFICANT_DIGITS = 3


def meaningful(value: float, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` rounded to ``digits`` significant digits, but never coarser than whole units (12345.6 ->
    12346); integers stay exact."""
    if value == 0 or not math.isfinite(value) or float(value).is_integer():
        return float(value)
    return float(round(value, max(digits - 1 - int(math.floor(math.log10(abs(value)))), 0)))


def _ds(value: float) -> DSfloat:
    if float(value).is_integer():
        return DSfloat(str(int(value)))
    text = f"{value:.12f}".rstrip("0").rstrip(".")
    return DSfloat(text if len(text) <= 16 else f"{value:.{SIGNIFICANT_DIGITS}g}")


def finish_content(items: Dataset) -> None:
    """Round every NUM and make every CONTAINER SEPARATE, recursively, in place."""
    for item in items.get("ContentSequence", []):
        kind = item.get("ValueType")
        if kind == "CONTAINER":
            item.ContinuityOfContent = "SEPARATE"
        elif kind == "NUM":
            for measured in item.get("MeasuredValueSequence", []):
                value = meaningful(float(measured.NumericValue))
                measured.NumericValue = _ds(value)
                if "FloatingPointValue" in measured:
                    del measured.FloatingPointValue
        finish_content(item)


_TRACKING_IDENTIFIER = "112039"
_TRACKING_UID = "112040"


def stabilise_tracking_uids(root: Dataset, study_instance_uid: str) -> None:
    """Give every measurement group a Tracking Unique Identifier derived from the study and its Tracking
    Identifier text (with a counter when two groups share a text), in place."""
    from workers.results.header import deterministic_uid

    seen: dict[str, int] = {}
    for group in _groups(root):
        items = list(group.get("ContentSequence", []))
        text = next(
            (str(i.TextValue) for i in items if _concept(i) == _TRACKING_IDENTIFIER and i.get("ValueType") == "TEXT"),
            None,
        )
        uid_item = next((i for i in items if _concept(i) == _TRACKING_UID and i.get("ValueType") == "UIDREF"), None)
        if text is None or uid_item is None:
            continue
        count = seen.get(text, 0)
        seen[text] = count + 1
        uid_item.UID = deterministic_uid(study_instance_uid, "tracking", text, str(count))


def _concept(item: Dataset) -> str:
    names = item.get("ConceptNameCodeSequence") or []
    return str(names[0].CodeValue) if names else ""


def _groups(node: Dataset) -> list[Dataset]:
    out = []
    for item in node.get("ContentSequence", []):
        if item.get("ValueType") == "CONTAINER" and _concept(item) == "125007":
            out.append(item)
        out += _groups(item)
    return out
