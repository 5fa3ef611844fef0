from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.routing import Priority, RuleError, load_rules

TOML_RULES = """
[[notifiers]]
name = "oncall"
kind = "webhook"
url = "http://127.0.0.1:8099/hook"

[[rules]]
name = "thin-axial-ssfp"
when.calling_aet = ["MRI1", "MRI2"]
when.attributes = [
  { keyword = "Modality", equals = "MR" },
  { keyword = "StudyDate", range = { min = 2024-01-01 } },
]
when.series = [{ sequence = "SSFP", plane = "axial", slice_thickness_mm = { range = { max = 1.5 } } }]
then.pipelines = ["inventory", "criteria"]
then.results_to = ["pacs"]

[[rules]]
name = "leak"
when.results.grades = [{ grade = "csf_leak", at_least = "DEFINITE" }]
then = { priority = "stat", notify = ["oncall"], stop = true }
"""


def test_load_toml(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(TOML_RULES, encoding="utf-8")
    rules = load_rules(path, destinations=["pacs"])
    assert [r.name for r in rules.rules] == ["thin-axial-ssfp", "leak"]
    assert rules.rules[1].then.priority is Priority.STAT
    assert rules.rules[1].needs_results
    date_range = rules.rules[0].when.attributes[1].range
    assert date_range is not None and date_range.is_date


def test_load_json_table_and_list(tmp_path: Path) -> None:
    table = tmp_path / "rules.json"
    table.write_text(json.dumps({"rules": [{"name": "a", "then": {"pipelines": ["cord"]}}]}), encoding="utf-8")
    assert load_rules(table).rules[0].then.pipelines == ["cord"]
    bare = tmp_path / "list.JSON"
    bare.write_text(json.dumps([{"name": "b", "then": {"stop": True}}]), encoding="utf-8")
    assert load_rules(bare).rules[0].then.stop


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="rules file not found"):
        load_rules(tmp_path / "missing.toml")
    yaml = tmp_path / "rules.yaml"
    yaml.write_text("rules: []", encoding="utf-8")
    with pytest.raises(RuleError, match="expected a .toml or .json file"):
        load_rules(yaml)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[[rules]\n", encoding="utf-8")
    with pytest.raises(RuleError, match="invalid TOML"):
        load_rules(bad_toml)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{", encoding="utf-8")
    with pytest.raises(RuleError, match="invalid JSON"):
        load_rules(bad_json)
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(RuleError, match="rules file .*dir.toml"):
        load_rules(folder)


def test_load_reports_file_rule_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(TOML_RULES.replace('at_least = "DEFINITE"', 'at_least = "SURE"'), encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_rules(path)
    message = str(info.value)
    assert str(path) in message
    assert "rule 'leak' (rules[1]): when.results.grades[0].at_least" in message


def test_load_checks_destinations(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(TOML_RULES, encoding="utf-8")
    with pytest.raises(RuleError, match="then.results_to: unknown destination 'pacs'"):
        load_rules(path, destinations=["orthanc"])
