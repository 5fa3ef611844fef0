"""Shared builders for the criteria tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from workers.criteria import CriteriaResult, FindingsDocument, StudyContext, evaluate, parse_findings

DocBuilder = Callable[..., FindingsDocument]


def _doc(*findings: dict[str, Any], **clinical: Any) -> FindingsDocument:
    return parse_findings({"clinical": clinical, "findings": list(findings)})


@pytest.fixture
def doc() -> DocBuilder:
    """``doc(finding, ..., orthostatic_headache=True)`` -> a validated FindingsDocument."""
    return _doc


@pytest.fixture
def run() -> Callable[..., CriteriaResult]:
    """``run(finding, ..., context=None, **clinical)`` -> evaluate(doc)."""

    def _run(*findings: dict[str, Any], context: StudyContext | None = None, **clinical: Any) -> CriteriaResult:
        return evaluate(_doc(*findings, **clinical), context)

    return _run
