"""Declarative routing: which pipelines run for a study, and where its originals and results go.

Names are imported on first use (PEP 562): the settings read :mod:`node.routing.rules` without loading the
evaluation code and the DICOM dictionary it needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from node.routing.conditions import GRADES, AttributeCondition, GradeCondition, SeriesCondition, When
    from node.routing.evaluate import Phase, RoutingDecision, RuleOutcome, default_decision, evaluate_rules
    from node.routing.facts import StudyFacts
    from node.routing.loading import load_rules, parse_rules
    from node.routing.rules import Actions, Notifier, Priority, RoutingSettings, Rule, RuleError, RuleSet
    from node.routing.values import Range, ValueTest

_WHERE: dict[str, str] = {
    **dict.fromkeys(("GRADES", "AttributeCondition", "GradeCondition", "SeriesCondition", "When"), "conditions"),
    **dict.fromkeys(("Phase", "RoutingDecision", "RuleOutcome", "default_decision", "evaluate_rules"), "evaluate"),
    "StudyFacts": "facts",
    **dict.fromkeys(("load_rules", "parse_rules"), "loading"),
    **dict.fromkeys(("Actions", "Notifier", "Priority", "RoutingSettings", "Rule", "RuleError", "RuleSet"), "rules"),
    **dict.fromkeys(("Range", "ValueTest"), "values"),
}

__all__ = [
    "Actions",
    "AttributeCondition",
    "GRADES",
    "GradeCondition",
    "Notifier",
    "Phase",
    "Priority",
    "Range",
    "RoutingDecision",
    "RoutingSettings",
    "Rule",
    "RuleError",
    "RuleOutcome",
    "RuleSet",
    "SeriesCondition",
    "StudyFacts",
    "ValueTest",
    "When",
    "default_decision",
    "evaluate_rules",
    "load_rules",
    "parse_rules",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
