"""The quick commands import none of the heavy libraries: each runs in a fresh interpreter (a subprocess, so
nothing this test session imported counts) and reports the modules loaded when it has answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from node.registry.db import Registry

ROOT = Path(__file__).resolve().parents[4]

#: What the DICOM network, analysis, results and broker code pull in; a quick command needs none of it.
HEAVY = ("pydicom", "pynetdicom", "highdicom", "numpy", "scipy", "PIL", "celery", "kombu", "redis", "httpx")

#: Runs ``node.cli.main`` with the given arguments, then writes the top-level packages loaded to ``out``.
RUNNER = """
import json, sys
from node.cli import main
out, argv = sys.argv[1], sys.argv[2:]
try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}, f)
"""

FINDINGS = {
    "clinical": {"orthostatic_headache": True},
    "findings": [
        {"exam": "spinal_mri", "kind": "epidural_fluid", "levels": ["C7", "T2"], "source": "radiologist"},
    ],
}


def _loaded(tmp_path: Path, *argv: str) -> tuple[int, set[str]]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SPINENODE_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(out), *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.exists(), proc.stderr
    report = json.loads(out.read_text())
    return report["code"], set(report["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in HEAVY if m in modules)


def test_the_runner_sees_heavy_imports(tmp_path: Path) -> None:
    """The check can fail: a command that reads DICOM headers (inventory) does load pydicom."""
    code, modules = _loaded(tmp_path, "inventory", str(tmp_path / "missing"))
    assert code != 0
    assert "pydicom" in modules


@pytest.mark.parametrize("argv", [("--help",), ("criteria", "--help"), ("studies", "--help"), ("serve", "--help")])
def test_help_imports_nothing_heavy(tmp_path: Path, argv: tuple[str, ...]) -> None:
    code, modules = _loaded(tmp_path, *argv)
    assert code == 0
    assert _heavy(modules) == []
    assert "sqlalchemy" not in modules
    assert "pydantic" not in modules  # the settings models load when a command reads its settings


def test_criteria_imports_nothing_heavy(tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(FINDINGS))
    code, modules = _loaded(tmp_path, "criteria", str(path), "--json")
    assert code == 0
    assert _heavy(modules) == []
    assert "sqlalchemy" not in modules


def test_studies_reads_the_registry_without_heavy_imports(tmp_path: Path) -> None:
    db = tmp_path / "var" / "spinenode.sqlite"
    db.parent.mkdir()
    Registry(f"sqlite:///{db}")  # migrated: an empty registry
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\ndata_dir = "{tmp_path / "var"}"\n')
    code, modules = _loaded(tmp_path, "studies", "--config", str(config))
    assert code == 0
    assert _heavy(modules) == []
    assert "sqlite3" in modules  # it did read the registry, through the driver itself
    assert "sqlalchemy" not in modules
    assert "alembic" not in modules  # the schema is at the newest revision: one query says so


def test_studies_on_a_registry_never_migrated_migrates_it(tmp_path: Path) -> None:
    """The check can fail: a registry not at the newest revision is opened the usual way (SQLAlchemy,
    Alembic), and then it is."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "spinenode.sqlite").touch()
    config = tmp_path / "node.toml"
    config.write_text(f'[node]\ndata_dir = "{tmp_path / "var"}"\n')
    code, modules = _loaded(tmp_path, "studies", "--config", str(config))
    assert code == 0
    assert {"sqlalchemy", "alembic"} <= modules
    code, modules = _loaded(tmp_path, "studies", "--config", str(config))
    assert code == 0
    assert "sqlalchemy" not in modules
