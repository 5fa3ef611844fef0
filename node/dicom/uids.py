"""DICOM UID validation (PS3.5 9.1): digits and dots, no leading zeros, at most 64 characters."""

from __future__ import annotations

import re

_UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$")


def is_valid_uid(value: object) -> bool:
    """True for a syntactically valid UID; only such UIDs may become file names."""
    return isinstance(value, str) and len(value) <= 64 and bool(_UID_RE.match(value))


def check_uid(value: object, name: str) -> str:
    if not is_valid_uid(value):
        raise ValueError(f"{name}: invalid UID {str(value)[:80]!r}")
    assert isinstance(value, str)
    return value
