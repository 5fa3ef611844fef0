"""A throw-away PostgreSQL database per test, on the server named by TEST_POSTGRES_URL.

`fresh_database()` creates a uniquely named database, yields its SQLAlchemy URL (psycopg driver) and drops it
afterwards, whatever the test did with it. Where there is no PostgreSQL to reach, `skip_if_absent=True` skips
the test with the reason instead of failing it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from node.registry.db import Registry

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1/postgres")


def database_url(name: str, *, driver: str = "psycopg") -> str:
    """The URL of database `name` on the TEST_POSTGRES_URL server (`driver=""` for a plain libpq URL)."""
    server = PG_ADMIN.rsplit("/", 1)[0]
    if driver:
        server = server.replace("postgresql://", f"postgresql+{driver}://", 1)
    return f"{server}/{name}"


@contextmanager
def fresh_database(prefix: str = "spinenode_test", *, skip_if_absent: bool = False) -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if not skip_if_absent:
            raise
        pytest.skip(f"no PostgreSQL at TEST_POSTGRES_URL ({exc})")
    try:
        yield database_url(name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as con:
            con.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextmanager
def registry_on(backend: str, tmp_path: Path, *, skip_if_absent: bool = False) -> Iterator[Registry]:
    """A migrated registry on a new SQLite file (`backend="sqlite"`) or a fresh PostgreSQL database."""
    if backend == "sqlite":
        reg = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
        try:
            yield reg
        finally:
            reg.dispose()
        return
    with fresh_database(skip_if_absent=skip_if_absent) as url:
        reg = Registry(url)
        try:
            yield reg
        finally:
            reg.dispose()
