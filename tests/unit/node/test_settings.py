from pathlib import Path

import pytest

from node.settings import SettingsError, load_settings


def test_defaults_follow_the_contract() -> None:
    s = load_settings(environ={})
    assert (s.node.ae_title, s.node.host, s.node.port) == ("SPINENODE", "127.0.0.1", 11112)
    assert s.node.stable_seconds == 10.0 and s.node.allowed_calling_aets == []
    assert s.database.url == "" and s.database_url.startswith("sqlite:///")
    assert s.broker.url == "" and (s.web.host, s.web.port) == ("127.0.0.1", 8080)
    assert s.destinations == []


def test_file_then_environment_override(tmp_path: Path) -> None:
    cfg = tmp_path / "n.toml"
    cfg.write_text(
        '[node]\nport = 104\nstable_seconds = 3\n[[destinations]]\nname = "pacs"\n'
        'ae_title = "ORTHANC"\nhost = "127.0.0.1"\nport = 4242\n'
    )
    s = load_settings(cfg, environ={"SPINENODE_NODE__PORT": "11113", "SPINENODE_NODE__AE_TITLE": "NODE2"})
    assert s.node.port == 11113 and s.node.ae_title == "NODE2" and s.node.stable_seconds == 3
    assert s.destination("pacs").port == 4242
    with pytest.raises(KeyError, match="nowhere"):
        s.destination("nowhere")


def test_config_from_environment_variable(tmp_path: Path) -> None:
    cfg = tmp_path / "n.toml"
    cfg.write_text("[web]\nport = 9999\n")
    assert load_settings(environ={"SPINENODE_CONFIG": str(cfg)}).web.port == 9999


@pytest.mark.parametrize(
    ("text", "env", "needle"),
    [
        ("[node]\nbogus = 1\n", {}, "node.bogus"),
        ("[nodes]\nport = 1\n", {}, "nodes"),
        ("[node]\nport = 70000\n", {}, "node.port"),
        ("[node]\nae_title = 'A\\\\B'\n", {}, "node.ae_title"),
        ("[node]\nae_title = 'WAY_TOO_LONG_AE_TITLE'\n", {}, "node.ae_title"),
        ("", {"SPINENODE_NODE__STABLE_SECONDS": "-1"}, "node.stable_seconds"),
        ("", {"SPINENODE_BROKEN": "1"}, "SPINENODE_BROKEN"),
        (
            "[[destinations]]\nname='a'\nae_title='X'\nhost='h'\nport=1\n[[destinations]]\nname='a'\n"
            "ae_title='Y'\nhost='h'\nport=2\n",
            {},
            "unique",
        ),
        ("[[destinations]]\nname='a'\nhost='h'\nport=1\n", {}, "destinations.0.ae_title"),
        ("[node\n", {}, "n.toml"),
    ],
)
def test_invalid_settings_name_the_key(tmp_path: Path, text: str, env: dict[str, str], needle: str) -> None:
    cfg = tmp_path / "n.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError, match=needle.replace(".", r"\.")):
        load_settings(cfg, environ=env)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})
