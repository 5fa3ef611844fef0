from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from node.routing import Notifier, Priority, RoutingSettings, Rule, RuleError, RuleSet, parse_rules
from node.routing.rules import LOG_NOTIFIER


def rule(name: str = "r", **then: Any) -> dict[str, Any]:
    return {"name": name, "then": then or {"pipelines": ["inventory"]}}


def test_a_valid_rule() -> None:
    parsed = Rule.model_validate(
        {
            "name": "stat-leak",
            "when": {"attributes": [{"keyword": "Modality", "equals": "MR"}]},
            "then": {"pipelines": ["inventory", "criteria"], "priority": "stat", "stop": True},
        }
    )
    assert parsed.then.priority is Priority.STAT
    assert parsed.then.stop
    assert not parsed.needs_results


def test_rule_without_action_is_rejected() -> None:
    with pytest.raises(ValidationError, match="'then' has no action"):
        Rule.model_validate({"name": "idle", "then": {}})


def test_rule_needs_name_and_then() -> None:
    with pytest.raises(ValidationError, match="name"):
        Rule.model_validate({"name": "", "then": {"stop": True}})
    with pytest.raises(ValidationError, match="then"):
        Rule.model_validate({"name": "x"})


def test_unknown_pipeline_priority_and_key() -> None:
    with pytest.raises(ValidationError, match="pipelines"):
        Rule.model_validate(rule(pipelines=["segment"]))
    with pytest.raises(ValidationError, match="priority"):
        Rule.model_validate(rule(priority="asap"))
    with pytest.raises(ValidationError, match="forward"):
        Rule.model_validate(rule(forward=["pacs"]))
    with pytest.raises(ValidationError, match="if"):
        Rule.model_validate({"name": "x", "if": {}, "then": {"stop": True}})


def test_duplicate_names_in_an_action_list() -> None:
    with pytest.raises(ValidationError, match=r"listed more than once: \['pacs'\]"):
        Rule.model_validate(rule(results_to=["pacs", "pacs"]))
    with pytest.raises(ValidationError, match="names must not be empty"):
        Rule.model_validate(rule(forward_to=[""]))


def test_errors_name_the_rule_and_the_field() -> None:
    data = {
        "rules": [
            rule("fine"),
            {
                "name": "broken",
                "when": {"attributes": [{"keyword": "Modality", "regex": "(MR"}]},
                "then": {"stop": True},
            },
        ]
    }
    with pytest.raises(RuleError, match=r"rule 'broken' \(rules\[1\]\): when\.attributes\[0\]: regex"):
        parse_rules(data)


def test_nameless_rule_error_names_its_index() -> None:
    with pytest.raises(RuleError, match=r"rules\[0\]: name: Field required"):
        parse_rules([{"then": {"stop": True}}])


def test_rule_names_are_unique() -> None:
    with pytest.raises(RuleError, match=r"rule names must be unique: \['a'\]"):
        parse_rules([rule("a"), rule("a")])


def test_notifiers() -> None:
    hook = Notifier(name="oncall", kind="webhook", url="https://ris.example/hook")
    assert hook.timeout_seconds == 5.0
    with pytest.raises(ValidationError, match="url 'ftp://x' is not an http"):
        Notifier(name="bad", kind="webhook", url="ftp://x")
    with pytest.raises(ValidationError, match="a log notifier takes no url"):
        Notifier(name="bad", kind="log", url="http://x")
    with pytest.raises(ValidationError, match="kind"):
        Notifier.model_validate({"name": "bad", "kind": "email"})


def test_notify_must_name_a_known_notifier() -> None:
    ok = parse_rules(
        {
            "rules": [rule(notify=["oncall", LOG_NOTIFIER])],
            "notifiers": [{"name": "oncall", "kind": "webhook", "url": "http://127.0.0.1/x"}],
        }
    )
    assert ok.notifier("oncall").kind == "webhook"
    assert ok.notifier(LOG_NOTIFIER).kind == "log"
    with pytest.raises(KeyError, match="pager"):
        ok.notifier("pager")
    with pytest.raises(RuleError, match=r"rule 'r' \(rules\[0\]\): then\.notify: unknown notifier 'pager'"):
        parse_rules([rule(notify=["pager"])])
    with pytest.raises(RuleError, match="notifier names must be unique"):
        parse_rules({"rules": [], "notifiers": [{"name": "n", "kind": "log"}, {"name": "n", "kind": "log"}]})


def test_unknown_destinations_are_an_error_when_destinations_are_given() -> None:
    data = [rule("fwd", forward_to=["archive"]), rule("res", results_to=["pacs", "ris"])]
    parse_rules(data)  # no destination list: names are not checked
    parse_rules(data, destinations=["archive", "pacs", "ris"])
    with pytest.raises(RuleError, match=r"rule 'res' \(rules\[1\]\): then\.results_to: unknown destination 'ris'"):
        parse_rules(data, destinations=["archive", "pacs"])
    with pytest.raises(RuleError, match=r"rule 'fwd' \(rules\[0\]\): then\.forward_to: unknown destination"):
        RuleSet.model_validate({"rules": data}).check_destinations([])


def test_parse_rules_rejects_other_shapes() -> None:
    with pytest.raises(RuleError, match="expected a table with 'rules'"):
        parse_rules("rules")
    with pytest.raises(RuleError, match="routes"):
        parse_rules({"routes": []})


def test_routing_settings_inline_rules_and_file(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text('[[rules]]\nname = "from-file"\nthen.pipelines = ["cord"]\n', encoding="utf-8")
    settings = RoutingSettings.model_validate(
        {"rules_file": str(rules_file), "rules": [rule("inline", results_to=["pacs"])]}
    )
    combined = settings.rule_set(["pacs"])
    assert [r.name for r in combined.rules] == ["from-file", "inline"]
    with pytest.raises(RuleError, match="unknown destination 'pacs'"):
        settings.rule_set([])


def test_routing_settings_errors_name_the_rule() -> None:
    with pytest.raises(ValidationError, match=r"rule 'x' \(rules\[0\]\): then\.priority"):
        RoutingSettings.model_validate({"rules": [rule("x", priority="now")]})
    with pytest.raises(ValidationError, match="rules_path"):
        RoutingSettings.model_validate({"rules_path": "x.toml"})


def test_routing_settings_duplicate_across_file_and_inline(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.json"
    rules_file.write_text('[{"name": "same", "then": {"stop": true}}]', encoding="utf-8")
    settings = RoutingSettings.model_validate({"rules_file": str(rules_file), "rules": [rule("same")]})
    with pytest.raises(RuleError, match=r"rule names must be unique: \['same'\]"):
        settings.rule_set()
