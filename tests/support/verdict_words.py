"""What a QC verdict's reason must be: words a person reads, not the code's names for things."""

from __future__ import annotations

import re

from workers.analysis.base import QcVerdict

RULE_ID = re.compile(r"\b[A-Z]{2,}(?:-[A-Z0-9]+)+-\d+\b")  # CORD-MORPH-1, CSF-LEAK-MR-1
FIELD_NAME = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")  # found_fraction, z_top, qc_figures
KEYWORD = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+)+\b")  # PixelSpacing, ImagePositionPatient


def assert_readable(verdict: QcVerdict) -> None:
    """The reason is words: not empty, no rule ID, no field name, no Python class name."""
    assert verdict.reason.strip(), verdict
    assert not RULE_ID.search(verdict.reason), verdict.reason
    assert not FIELD_NAME.search(verdict.reason), verdict.reason
    assert not KEYWORD.search(verdict.reason), verdict.reason
    assert "Error" not in verdict.reason, verdict.reason
