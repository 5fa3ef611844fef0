"""Finishing touches on an encoded SR content tree: numbers at a meaningful precision, and every container
SEPARATE so that item-by-item readers (DCMTK ``dsr2html``) show each item under its concept name."""

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
