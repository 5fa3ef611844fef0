"""The node's rooms: the only modules loose in ``node/`` are the command line, settings, runtime and
stability (ARCHITECTURE.md); everything else lives in the package of its stage."""

from __future__ import annotations

from pathlib import Path

import node

LOOSE = {"__init__.py", "__main__.py", "cli.py", "settings.py", "runtime.py", "stability.py"}


def test_only_the_named_modules_are_loose_in_node() -> None:
    root = Path(node.__file__).parent
    loose = {p.name for p in root.glob("*.py")}
    assert loose <= LOOSE, f"put {sorted(loose - LOOSE)} in the package of its stage"
    assert (root / "metrics" / "__init__.py").exists()


def test_every_package_of_node_is_named_in_the_architecture_map() -> None:
    root = Path(node.__file__).parent
    text = (root.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.name for p in root.glob("*/__init__.py"))
    missing = [name for name in packages if f"{name}/" not in text]
    assert not missing, f"ARCHITECTURE.md does not show {missing}"
