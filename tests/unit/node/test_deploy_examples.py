"""The example settings and routing rules in deploy/ stay valid as the code changes."""

from pathlib import Path

from node.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_example_settings_and_rules_load(tmp_path: Path) -> None:
    text = (DEPLOY / "spinenode.example.toml").read_text()
    text = text.replace("/etc/spinenode/routing.toml", str(DEPLOY / "routing.example.toml"))
    cfg = tmp_path / "spinenode.toml"
    cfg.write_text(text)
    settings = load_settings(cfg, environ={})
    rules = settings.routing.rule_set(settings.target_names())
    assert [d.name for d in settings.destinations] == ["pacs", "research"]
    assert settings.ris[0].kind == "hl7_mllp"
    assert len(rules.rules) == 3 and rules.rules[2].needs_results
