"""Read a rule set from a TOML (``[[rules]]``, ``[[notifiers]]``) or JSON file and validate it."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from node.inputs.text import TextEncodingError, read_text
from node.routing.rules import RuleError, RuleSet, describe_rule_set_errors


def parse_rules(data: Any, *, source: str = "rules", destinations: Iterable[str] | None = None) -> RuleSet:
    """Validate already-parsed rule data: ``{"rules": [...], "notifiers": [...]}`` or a bare list of rules."""
    if isinstance(data, list):
        data = {"rules": data}
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise RuleError(f"{source}: expected a table with 'rules' or a list of rules, got {kind}")
    try:
        rule_set = RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RuleError(f"{source}: {describe_rule_set_errors(exc)}") from None
    if destinations is not None:
        try:
            rule_set.check_destinations(destinations)
        except RuleError as exc:
            raise RuleError(f"{source}: {exc}") from None
    return rule_set


def load_rules(path: str | Path, destinations: Iterable[str] | None = None) -> RuleSet:
    """Load and validate rules from ``path`` (``.toml`` or ``.json``); raise :class:`RuleError`.

    With ``destinations`` (configured destination names), a rule naming any other destination is an error.
    """
    path = Path(path)
    try:
        text = read_text(path)[0]  # UTF-8 (BOM or not), UTF-16 or Shift_JIS
    except FileNotFoundError:
        raise RuleError(f"rules file not found: {path}") from None
    except OSError as exc:
        raise RuleError(f"rules file {path}: {exc.strerror}") from None
    except TextEncodingError as exc:
        raise RuleError(f"rules file {exc}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            raise RuleError(f"rules file {path}: expected a .toml or .json file")
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"rules file {path}: invalid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise RuleError(f"rules file {path}: invalid JSON: {exc}") from None
    return parse_rules(data, source=str(path), destinations=destinations)
