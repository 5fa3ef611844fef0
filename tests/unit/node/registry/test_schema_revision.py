"""A registry whose schema is at the newest revision opens without Alembic; any other is still upgraded."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from node.registry import db
from node.registry.db import Registry, alembic_config, head_revision, schema_revisions


def test_head_read_from_the_scripts_is_alembics_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert heads == [head_revision()]


def test_an_empty_database_has_no_revision_and_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    assert schema_revisions(db.make_engine(url)) is None
    registry = Registry(url)
    assert schema_revisions(registry.engine) == [head_revision()]


def test_an_older_schema_is_upgraded_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    registry = Registry(url)
    cfg = alembic_config(url)
    with registry.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "-1")
    older = schema_revisions(registry.engine)
    assert older is not None and older != [head_revision()]
    registry.dispose()
    assert schema_revisions(Registry(url).engine) == [head_revision()]


def test_a_schema_at_the_head_is_not_upgraded_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    Registry(url).dispose()
    # Mocked: the only way to see that the upgrade was not asked for is to fail if it is.
    monkeypatch.setattr(command, "upgrade", lambda *a, **k: (_ for _ in ()).throw(AssertionError("upgraded")))
    assert schema_revisions(Registry(url).engine) == [head_revision()]
