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


def test_the_variables_read_outside_the_settings_are_not_taken_for_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """SPINENODE_ANALYSIS_WORKERS sizes the analysis pool; a command that reads its settings beside it runs."""
    from workers.analysis.segmentations import analysis_workers

    env = {"SPINENODE_ANALYSIS_WORKERS": "1", "SPINENODE_LOG_LEVEL": "DEBUG", "SPINENODE_NODE__PORT": "11113"}
    assert load_settings(environ=env).node.port == 11113
    monkeypatch.setenv("SPINENODE_ANALYSIS_WORKERS", "1")
    assert analysis_workers() == 1  # the name the analysis reads
    with pytest.raises(SettingsError, match="no settings section"):
        load_settings(environ={"SPINENODE_ANALYSIS_WORKRES": "1"})  # a misspelt one is still an error


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


def test_list_sections_from_the_environment_by_index(tmp_path: Path) -> None:
    cfg = tmp_path / "n.toml"
    cfg.write_text("[[destinations]]\nname = 'pacs'\nae_title = 'ORTHANC'\nhost = '127.0.0.1'\nport = 4242\n")
    env = {
        "SPINENODE_DESTINATIONS__0__HOST": "pacs.hospital.example",  # overrides the file's entry
        "SPINENODE_DESTINATIONS__1__NAME": "research",  # adds a second one
        "SPINENODE_DESTINATIONS__1__AE_TITLE": "RESEARCH",
        "SPINENODE_DESTINATIONS__1__HOST": "10.0.0.7",
        "SPINENODE_DESTINATIONS__1__PORT": "104",
        "SPINENODE_DESTINATIONS__1__RESULTS": "false",
        "SPINENODE_RIS__0__NAME": "ris",
        "SPINENODE_RIS__0__KIND": "hl7_mllp",
        "SPINENODE_RIS__0__HOST": "127.0.0.1",
        "SPINENODE_RIS__0__PORT": "2575",
        "SPINENODE_NODE__ALLOWED_CALLING_AETS": '["ORTHANC", "MODALITY"]',
    }
    s = load_settings(cfg, environ=env)
    assert [(d.name, d.ae_title, d.host, d.port, d.results) for d in s.destinations] == [
        ("pacs", "ORTHANC", "pacs.hospital.example", 4242, True),
        ("research", "RESEARCH", "10.0.0.7", 104, False),
    ]
    assert (s.ris[0].name, s.ris[0].kind, s.ris[0].port) == ("ris", "hl7_mllp", 2575)
    assert s.node.allowed_calling_aets == ["ORTHANC", "MODALITY"]


def test_a_list_section_whole_as_json_and_indexes_past_nine() -> None:
    entries = [{"name": f"d{i}", "ae_title": f"D{i}", "host": "127.0.0.1", "port": 1000 + i} for i in range(11)]
    import json

    s = load_settings(None, environ={"SPINENODE_DESTINATIONS": json.dumps(entries[:10])})
    assert [d.port for d in s.destinations] == list(range(1000, 1010))
    env = {f"SPINENODE_DESTINATIONS__{i}__{k.upper()}": str(v) for i, e in enumerate(entries) for k, v in e.items()}
    s = load_settings(None, environ=env)
    assert [d.name for d in s.destinations] == [f"d{i}" for i in range(11)]


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[node]\nprot = 1\n", {}, "node.prot: unknown key (did you mean 'port'?)"),
        ("[[destinations]]\nname='a'\nae_title='X'\nhots='h'\nport=1\n", {}, "did you mean 'host'?"),
        (
            "",
            {"SPINENODE_NODES__PORT": "1"},
            "SPINENODE_NODES__PORT: no settings section [nodes] (did you mean 'node'?)",
        ),
        ("", {"SPINENODE_DESTINATIONS__X__HOST": "h"}, "'x' must be a list index"),
        ("", {"SPINENODE_DESTINATIONS__1__HOST": "h"}, "index 1 skips entries"),
    ],
)
def test_unknown_keys_say_what_was_meant(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    cfg = tmp_path / "n.toml"
    cfg.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(cfg, environ=env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp932"])
def test_config_files_in_the_encodings_windows_writes(tmp_path: Path, encoding: str) -> None:
    cfg = tmp_path / "n.toml"
    cfg.write_bytes("# 脊髄ノード\n[node]\nport = 11113\n".encode(encoding))
    assert load_settings(cfg, environ={}).node.port == 11113
