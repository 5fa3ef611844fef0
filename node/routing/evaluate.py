"""Pure evaluation of routing rules against :class:`StudyFacts`, in two phases.

- ``arrival`` (no results yet): rules without result conditions are evaluated in order; a rule with
  result conditions is *deferred* when its other conditions hold (its ``stop`` takes effect only when it
  matches in the results phase).
- ``results``: every rule is evaluated with the results. ``results_to`` and ``priority`` merge over all
  matched rules (results are sent only now); ``pipelines``, ``forward_to`` and ``notify`` come only from
  rules with result conditions, since the others were acted on at arrival.

Merging: lists are united in rule order (pipelines in their canonical order), the most urgent priority
wins (``routine`` when none is set), and a matched rule with ``stop`` ends the evaluation.
With no rule configured the default applies: every pipeline, results to every destination whose
``results`` is enabled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from node.routing.facts import StudyFacts
from node.routing.rules import Priority, Rule, RuleSet
from workers.pipeline.context import PIPELINES, Pipeline


class Phase(StrEnum):
    ARRIVAL = "arrival"
    RESULTS = "results"


class DestinationLike(Protocol):
    """What the default decision needs of a configured destination."""

    name: str
    results: bool


@dataclass(frozen=True)
class RuleOutcome:
    """How one rule fared: ``status`` is ``matched``, ``not matched``, ``deferred`` or ``not evaluated``."""

    name: str
    status: str
    reasons: list[str] = field(default_factory=list)
    stopped: bool = False


@dataclass
class RoutingDecision:
    """The merged actions of the matched rules and, per rule, why it matched or not."""

    phase: Phase
    pipelines: list[Pipeline] = field(default_factory=list)
    forward_to: list[str] = field(default_factory=list)
    results_to: list[str] = field(default_factory=list)
    priority: Priority = Priority.ROUTINE
    notify: list[str] = field(default_factory=list)
    outcomes: list[RuleOutcome] = field(default_factory=list)
    default: bool = False

    @property
    def matched(self) -> list[str]:
        return [o.name for o in self.outcomes if o.status == "matched"]

    @property
    def deferred(self) -> list[str]:
        return [o.name for o in self.outcomes if o.status == "deferred"]

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": str(self.phase),
            "default": self.default,
            "pipelines": list(self.pipelines),
            "forward_to": list(self.forward_to),
            "results_to": list(self.results_to),
            "priority": str(self.priority),
            "notify": list(self.notify),
            "matched": self.matched,
            "deferred": self.deferred,
            "rules": [
                {"name": o.name, "status": o.status, "reasons": list(o.reasons), "stopped": o.stopped}
                for o in self.outcomes
            ],
        }

    def describe(self) -> list[str]:
        """Lines for a dry run or a log entry (no patient data)."""
        note = "  (no rules configured: default routing)" if self.default else ""
        lines = [f"phase: {self.phase}{note}"]
        lines.append(f"  pipelines:  {', '.join(self.pipelines) or '-'}")
        lines.append(f"  forward to: {', '.join(self.forward_to) or '-'}")
        lines.append(f"  results to: {', '.join(self.results_to) or '-'}")
        lines.append(f"  priority:   {self.priority}")
        lines.append(f"  notify:     {', '.join(self.notify) or '-'}")
        for outcome in self.outcomes:
            suffix = " (stop)" if outcome.stopped else ""
            lines.append(f"  rule {outcome.name!r}: {outcome.status}{suffix}")
            lines.extend(f"      {reason}" for reason in outcome.reasons)
        return lines


_Name = TypeVar("_Name", bound=str)


def _add(target: list[_Name], names: Sequence[_Name]) -> None:
    for name in names:
        if name not in target:
            target.append(name)


def default_decision(phase: Phase, destinations: Sequence[DestinationLike] = ()) -> RoutingDecision:
    """The decision when no rule is configured."""
    return RoutingDecision(
        phase=phase,
        pipelines=list(PIPELINES) if phase is Phase.ARRIVAL else [],
        results_to=[d.name for d in destinations if d.results],
        outcomes=[],
        default=True,
    )


def evaluate_rules(
    rules: RuleSet | Sequence[Rule],
    facts: StudyFacts,
    *,
    phase: Phase | None = None,
    destinations: Sequence[DestinationLike] = (),
) -> RoutingDecision:
    """Evaluate ``rules`` in order for ``facts``.

    ``phase`` defaults to ``results`` when the facts carry results or flags, else ``arrival``;
    ``destinations`` is used only for the default decision when there are no rules.
    """
    rule_list = list(rules.rules if isinstance(rules, RuleSet) else rules)
    if phase is None:
        phase = Phase.RESULTS if facts.has_results else Phase.ARRIVAL
    if phase is Phase.RESULTS and not facts.has_results:
        raise ValueError("phase 'results' needs facts with results or flags")
    if not rule_list:
        return default_decision(phase, destinations)

    decision = RoutingDecision(phase=phase)
    pipelines: list[Pipeline] = []
    priorities: list[Priority] = []
    stopped_by: str | None = None
    for rule in rule_list:
        if stopped_by is not None:
            decision.outcomes.append(RuleOutcome(rule.name, "not evaluated", [f"stopped by {stopped_by!r}"]))
            continue
        checks = rule.when.checks(facts, with_results=phase is Phase.RESULTS)
        failed = [reason for ok, reason in checks if not ok]
        if failed:
            decision.outcomes.append(RuleOutcome(rule.name, "not matched", failed))
            continue
        reasons = [reason for _, reason in checks]
        if phase is Phase.ARRIVAL and rule.needs_results:
            decision.outcomes.append(RuleOutcome(rule.name, "deferred", [*reasons, "waits for results"]))
            continue
        reasons = reasons or ["no conditions: matches every study"]
        then = rule.then
        fresh = phase is Phase.ARRIVAL or rule.needs_results
        if fresh:
            _add(pipelines, then.pipelines)
            _add(decision.forward_to, then.forward_to)
            _add(decision.notify, then.notify)
        _add(decision.results_to, then.results_to)
        if then.priority is not None:
            priorities.append(then.priority)
        decision.outcomes.append(RuleOutcome(rule.name, "matched", reasons, stopped=then.stop))
        if then.stop:
            stopped_by = rule.name
    decision.pipelines = [p for p in PIPELINES if p in pipelines]
    if priorities:
        decision.priority = min(priorities, key=lambda p: p.rank)
    return decision
