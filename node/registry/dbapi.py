"""The registry through its database driver itself (sqlite3, psycopg), for a command that only reads it.

``spinenode studies`` lists the registry with :mod:`node.registry.listing` on such a connection: importing
SQLAlchemy and its ORM would cost it about half a second, more than the rest of the command. The schema must
be at the newest revision, as for every reader; when it is not (or the URL names another driver), the
registry is opened the usual way (:class:`node.registry.db.Registry`, which migrates it) and the listing
reads through that engine's connection instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from node.registry.revisions import head_revision

POSTGRESQL_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 10,  # seconds; without it a connect to a host cut off waits for TCP (about 2 min)
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30000,  # ms: a query whose packets go unanswered fails instead of hanging ~15 min
}
"""libpq options: a registry behind a cut link is noticed in seconds, so a worker's heartbeat and the
reconciler's passes fail and retry instead of hanging."""

SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
POSTGRESQL_SCHEMES = ("postgresql", "postgresql+psycopg")
_PASSWORD = re.compile(r"^([^:/]+://[^:/@]*):[^@]*@")


def hide_password(url: str) -> str:
    """``url`` with its password shown as ``***``, as SQLAlchemy renders it."""
    return _PASSWORD.sub(r"\1:***@", url)


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (``sqlite:///relative`` or ``sqlite:////absolute``); None for another
    database, an in-memory one or a URL with options."""
    scheme, _, rest = url.partition("://")
    if scheme not in SQLITE_SCHEMES or not rest.startswith("/") or "?" in rest:
        return None
    path = rest[1:]
    return path if path and path != ":memory:" else None


def _driver_connect(url: str) -> tuple[Any, type[Exception]] | None:
    """A connection of the driver itself and the driver's error class; None for a URL it cannot take."""
    path = sqlite_path(url)
    if path is not None:
        import sqlite3

        # mode=rw: a missing file is an error, not a new empty database
        return sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=30), sqlite3.Error
    scheme, _, rest = url.partition("://")
    if scheme in POSTGRESQL_SCHEMES:
        import psycopg

        return psycopg.connect(f"postgresql://{rest}", **POSTGRESQL_CONNECT_ARGS), psycopg.Error
    return None


def _at_head(connection: Any, error: type[Exception]) -> bool:
    head = head_revision()
    cursor = connection.cursor()
    try:
        cursor.execute("SELECT version_num FROM alembic_version")
        return head is not None and [str(v) for (v,) in cursor.fetchall()] == [head]
    except error:  # no such table: a database never migrated
        return False
    finally:
        cursor.close()


@contextmanager
def reading(url: str) -> Iterator[Any]:
    """A DB-API connection to the registry at ``url``, its schema at the newest revision, to read from."""
    driver = _driver_connect(url)
    if driver is not None:
        connection, error = driver
        try:
            if _at_head(connection, error):
                yield connection
                return
        finally:
            connection.close()
    from node.registry.db import Registry

    registry = Registry(url)
    try:
        raw = registry.engine.raw_connection()
        try:
            yield raw.driver_connection
        finally:
            raw.close()
    finally:
        registry.dispose()
