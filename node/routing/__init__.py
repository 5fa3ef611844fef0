"""Declarative routing: which pipelines run for a study, and where its originals and results go."""

from node.routing.conditions import GRADES, AttributeCondition, GradeCondition, SeriesCondition, When
from node.routing.evaluate import Phase, RoutingDecision, RuleOutcome, default_decision, evaluate_rules
from node.routing.facts import StudyFacts
from node.routing.loading import load_rules, parse_rules
from node.routing.rules import Actions, Notifier, Priority, RoutingSettings, Rule, RuleError, RuleSet
from node.routing.values import Range, ValueTest

__all__ = [
    "GRADES",
    "Actions",
    "AttributeCondition",
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
