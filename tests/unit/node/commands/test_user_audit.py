"""``spinenode user add|list|disable|token`` and ``spinenode audit [--since] [--json|--syslog]``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from node.cli import main


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    path = tmp_path / "node.toml"
    path.write_text(f'[node]\ndata_dir = "{tmp_path / "var"}"\n')
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n" * 5))
    return str(path)


def test_user_add_list_disable_and_their_audit(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            ["user", "add", "ana", "--role", "radiologist", "--name", "Ana Ito", "--password-stdin", "--config", config]
        )
        == 0
    )
    assert main(["user", "add", "ana", "--role", "viewer", "--password-stdin", "--config", config]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["user", "token", "ana", "--config", config]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("sn_")
    assert main(["user", "disable", "ana", "--config", config]) == 0
    capsys.readouterr()
    assert main(["user", "list", "--json", "--config", config]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"username": "ana", "name": "Ana Ito", "role": "radiologist", "disabled": True}]
    assert main(["audit", "--json", "--since", "1h", "--config", config]) == 0
    trail = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in trail] == ["user_added", "api_token_made", "user_disabled"]
    assert all("password" not in json.dumps(e) for e in trail)
    assert main(["audit", "--syslog", "--config", config]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("<85>1 ") for line in lines)
    assert main(["audit", "--since", "2999-01-01", "--json", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["audit", "--since", "yesterday-ish", "--config", config]) == 2


def test_weak_password_and_unknown_role_are_refused(config: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "cy", "--role", "viewer", "--password-stdin", "--config", config]) == 2
    with pytest.raises(SystemExit):
        main(["user", "add", "cy", "--role", "boss", "--config", config])
