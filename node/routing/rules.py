"""Routing rules as typed data: :class:`Rule` (``name``, ``when``, ``then``), :class:`RuleSet`, notifiers.

Rules are validated once when loaded; an error names the rule and the field (``rule 'stat-leak'
(rules[2]): when.attributes[0].regex: ...``). Nothing in a rule is evaluated as code.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)

from node.routing.conditions import When
from workers.pipeline_names import Pipeline

LOG_NOTIFIER = "log"
"""A notifier that is always available: one structured log line."""


class Priority(StrEnum):
    """Worklist priority, most urgent first."""

    STAT = "stat"
    URGENT = "urgent"
    ROUTINE = "routine"
    LOW = "low"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class RuleError(ValueError):
    """A rule set is invalid; the message names the rule and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Notifier(_Model):
    """A named notifier: ``kind = "log"`` writes a log line, ``kind = "webhook"`` POSTs JSON to ``url``."""

    name: str = Field(min_length=1)
    kind: Literal["log", "webhook"]
    url: str = ""
    timeout_seconds: float = Field(5.0, gt=0, le=120)

    @model_validator(mode="after")
    def _check_url(self) -> Notifier:
        if self.kind == "webhook":
            parsed = urlparse(self.url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ValueError(f"notifier {self.name!r}: url {self.url!r} is not an http(s) URL")
        elif self.url:
            raise ValueError(f"notifier {self.name!r}: a log notifier takes no url (got {self.url!r})")
        return self


class Actions(_Model):
    """The ``then`` part of a rule."""

    pipelines: list[Pipeline] = Field(default_factory=list)
    forward_to: list[str] = Field(default_factory=list, description="destinations for the originals")
    results_to: list[str] = Field(default_factory=list, description="destinations for SR and SC results")
    priority: Priority | None = None
    notify: list[str] = Field(default_factory=list, description="notifier names")
    stop: bool = False

    @field_validator("pipelines", "forward_to", "results_to", "notify")
    @classmethod
    def _no_duplicates(cls, values: list[str]) -> list[str]:
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            raise ValueError(f"listed more than once: {dupes}")
        if any(not v for v in values):
            raise ValueError("names must not be empty")
        return values

    def is_empty(self) -> bool:
        return not (self.pipelines or self.forward_to or self.results_to or self.notify or self.priority or self.stop)


class Rule(_Model):
    """One routing rule; every condition in ``when`` must hold for ``then`` to apply."""

    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    when: When = Field(default_factory=When)
    then: Actions

    @model_validator(mode="after")
    def _does_something(self) -> Rule:
        if self.then.is_empty():
            raise ValueError(f"rule {self.name!r}: 'then' has no action (pipelines, forward_to, ...)")
        return self

    @property
    def needs_results(self) -> bool:
        return self.when.needs_results


def _loc(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def describe_rule_errors(exc: ValidationError, rules_input: Any) -> str:
    """One line per error: ``rule 'NAME' (rules[i]): field.path: message (got value)``."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = "rules"
        head = loc[0] if loc else None
        if isinstance(head, int):
            index = head
            loc.pop(0)
            name = None
            if isinstance(rules_input, list) and index < len(rules_input):
                item = rules_input[index]
                name = item.get("name") if isinstance(item, dict) else getattr(item, "name", None)
            where = f"rule {name!r} (rules[{index}])" if name else f"rules[{index}]"
        field = _loc(loc) or "(rule)"
        message = str(err["msg"]).removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"{where}: {field}: {message}{shown}")
    return "; ".join(lines)


def describe_rule_set_errors(exc: ValidationError) -> str:
    """One line per error of a whole rule set (rule errors already carry the rule's name)."""
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if loc in ((), ("rules",)):
            lines.append(message)
        else:
            got = err.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            lines.append(f"{_loc(loc)}: {message}{shown}")
    return "; ".join(lines)


def _validate_rules(value: Any, handler: ValidatorFunctionWrapHandler) -> list[Rule]:
    try:
        rules: list[Rule] = handler(value)
    except ValidationError as exc:
        raise ValueError(describe_rule_errors(exc, value)) from None
    names = [rule.name for rule in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"rule names must be unique: {dupes}")
    return rules


class RuleSet(_Model):
    """Rules in evaluation order, and the notifiers they may name."""

    rules: list[Rule] = Field(default_factory=list)
    notifiers: list[Notifier] = Field(default_factory=list)

    @field_validator("rules", mode="wrap")
    @classmethod
    def _named_rules(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> list[Rule]:
        return _validate_rules(value, handler)

    @model_validator(mode="after")
    def _check_references(self) -> RuleSet:
        names = [n.name for n in self.notifiers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"notifier names must be unique: {dupes}")
        known = set(names) | {LOG_NOTIFIER}
        for index, rule in enumerate(self.rules):
            for name in rule.then.notify:
                if name not in known:
                    raise ValueError(
                        f"rule {rule.name!r} (rules[{index}]): then.notify: unknown notifier {name!r}; "
                        f"known: {sorted(known)}"
                    )
        return self

    def notifier(self, name: str) -> Notifier:
        for notifier in self.notifiers:
            if notifier.name == name:
                return notifier
        if name == LOG_NOTIFIER:
            return Notifier(name=LOG_NOTIFIER, kind="log", timeout_seconds=5.0)
        raise KeyError(f"no notifier named {name!r}")

    def check_destinations(self, destinations: Iterable[str]) -> None:
        """Raise :class:`RuleError` when a rule names a destination that is not configured."""
        known = set(destinations)
        for index, rule in enumerate(self.rules):
            for field in ("forward_to", "results_to"):
                for name in getattr(rule.then, field):
                    if name not in known:
                        raise RuleError(
                            f"rule {rule.name!r} (rules[{index}]): then.{field}: unknown destination "
                            f"{name!r}; configured: {sorted(known)}"
                        )


class RoutingSettings(_Model):
    """The ``[routing]`` settings section: a rules file and/or inline ``[[routing.rules]]``.

    Rules from ``rules_file`` are evaluated first, then the inline rules; notifiers likewise.
    """

    rules_file: str = ""
    rules: list[Rule] = Field(default_factory=list)
    notifiers: list[Notifier] = Field(default_factory=list)

    @field_validator("rules", mode="wrap")
    @classmethod
    def _named_rules(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> list[Rule]:
        return _validate_rules(value, handler)

    def rule_set(self, destinations: Iterable[str] | None = None) -> RuleSet:
        """The combined, validated rule set (reads ``rules_file``); raises :class:`RuleError`."""
        from node.routing.loading import load_rules

        base = load_rules(self.rules_file) if self.rules_file else RuleSet()
        try:
            combined = RuleSet(rules=[*base.rules, *self.rules], notifiers=[*base.notifiers, *self.notifiers])
        except ValidationError as exc:
            raise RuleError(describe_rule_set_errors(exc)) from None
        if destinations is not None:
            combined.check_destinations(destinations)
        return combined
