"""Packaging: one version, pinned constraints, and a default install under permissive licences only."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from workers import __version__

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
COPYLEFT = re.compile(r"\b(A|L)?GPL|GNU (Affero |Lesser )?General Public", re.IGNORECASE)


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[canonicalize_name(name)] = version
    return pins


def test_the_version_is_written_once() -> None:
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    written = [
        path
        for path in [*ROOT.glob("node/**/*.py"), *ROOT.glob("workers/**/*.py"), ROOT / "deploy" / "Dockerfile"]
        if f'"{__version__}"' in path.read_text(encoding="utf-8")
    ]
    assert written == [ROOT / "workers" / "__init__.py"]


@pytest.mark.parametrize("group", ["default", "postgresql", "test"])
def test_constraints_pin_every_requirement_within_its_range(group: str) -> None:
    pins = _pins()
    wanted = PROJECT["dependencies"] if group == "default" else PROJECT["optional-dependencies"][group]
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (text, pins[name])


def _licence(dist: metadata.Distribution) -> str:
    fields = [dist.metadata.get("License-Expression") or "", (dist.metadata.get("License") or "")[:200]]
    fields += [c for c in dist.metadata.get_all("Classifier") or [] if c.startswith("License ::")]
    return " | ".join(f for f in fields if f)


def _closure() -> dict[str, metadata.Distribution]:
    """Every installed distribution the default install pulls in (no extras), by canonical name."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [Requirement(r) for r in PROJECT["dependencies"]]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            pytest.fail(f"{requirement.name} (a default dependency) is not installed")
        seen[name] = dist
        for text in dist.requires or []:
            sub = Requirement(text)
            extras = set(requirement.extras)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras or {""}):
                todo.append(sub)
    return seen


def test_the_default_install_is_permissively_licensed() -> None:
    closure = _closure()
    assert {"pydicom", "pynetdicom", "celery", "python-gdcm", "pyjpegls"} <= set(closure)
    assert "psycopg" not in closure and "pylibjpeg-libjpeg" not in closure
    copyleft = {name: _licence(dist) for name, dist in closure.items() if COPYLEFT.search(_licence(dist))}
    assert copyleft == {}, copyleft
