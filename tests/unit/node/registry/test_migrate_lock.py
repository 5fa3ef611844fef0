from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from node.registry.migrate_lock import MigrationLockTimeout, file_lock, sqlite_lock_path


def test_a_held_lock_makes_the_next_process_wait_bounded_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "spinenode.db.migrate-lock"
    caplog.set_level(logging.INFO, logger="node.registry.migrate_lock")
    with file_lock(path), pytest.raises(MigrationLockTimeout, match="waiting for another process"):  # noqa: SIM117
        with file_lock(path, timeout=0.5):  # a second open file description: flock conflicts as across processes
            pass
    assert "waiting for another process to migrate the registry" in caplog.text
    with file_lock(path, timeout=0.5):  # released: taken at once
        pass


def test_lock_file_sits_beside_the_database_file(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'var' / 'spinenode.db'}")
    assert sqlite_lock_path(engine) == tmp_path / "var" / "spinenode.db.migrate-lock"
    assert sqlite_lock_path(create_engine("sqlite://")) is None
