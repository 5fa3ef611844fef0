"""One process at a time migrates the registry schema; the others wait for it, bounded and logged.

Every process of a node (``serve``, each ``worker``) brings the schema to the newest revision at start, and
under systemd or compose they all start at once. Alembic alone is not safe against itself: two processes
on an empty PostgreSQL database both create ``alembic_version`` and one dies on a unique violation. So the
upgrade runs under a lock that lives in the database server itself (PostgreSQL: a session advisory lock,
released when the connection ends, also when the process is killed) or beside the database file (SQLite:
an exclusive ``flock`` on ``<file>.migrate-lock``, released by the kernel when the process ends). A process
that finds the lock taken waits, says so in the log every few seconds, and gives up after ``timeout``
seconds with an error that says what it waited for. Once it holds the lock the schema is usually already
at the newest revision and the upgrade is a no-op.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 300.0
"""How long a starting process waits for another one's migration before it gives up."""
LOG_EVERY_SECONDS = 5.0
POLL_SECONDS = 0.2
ADVISORY_LOCK_KEY = 0x5350_4E4F  # "SPNO": one key for every spinenode schema migration on a server


class MigrationLockTimeout(RuntimeError):
    """Another process held the migration lock for longer than the bounded wait."""


def _wait_for(try_lock: Callable[[], bool], what: str, timeout: float) -> None:
    started = time.monotonic()
    next_log = started
    while not try_lock():
        waited = time.monotonic() - started
        if waited >= timeout:
            raise MigrationLockTimeout(
                f"gave up after {waited:.0f} s waiting for another process to migrate the registry ({what}); "
                "is a start-up stuck? It releases the lock when it ends"
            )
        if time.monotonic() >= next_log:
            log.info("waiting for another process to migrate the registry (%s); %.0f s so far", what, waited)
            next_log += LOG_EVERY_SECONDS
        time.sleep(POLL_SECONDS)
    waited = time.monotonic() - started
    if waited >= POLL_SECONDS:
        log.info("migration lock acquired after %.1f s (%s)", waited, what)


@contextmanager
def postgresql_lock(engine: Engine, *, timeout: float = LOCK_WAIT_SECONDS) -> Iterator[Connection]:
    """Hold the advisory lock on a connection of its own; yields that connection for the upgrade."""
    connection = engine.connect()
    try:

        def try_lock() -> bool:
            got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar())
            connection.commit()  # a session lock outlives the transaction; don't sit idle in one
            return got

        _wait_for(try_lock, "PostgreSQL advisory lock", timeout)
        try:
            yield connection
        finally:
            if connection.in_transaction():
                connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()
    finally:
        connection.close()


@contextmanager
def file_lock(path: Path, *, timeout: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing), polled without blocking."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:

        def try_lock() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait_for(try_lock, f"lock file {path.name}", timeout)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def sqlite_lock_path(engine: Engine) -> Path | None:
    """The lock file beside an SQLite database file; None for an in-memory database."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).with_name(Path(database).name + ".migrate-lock")


@contextmanager
def migration_lock(engine: Engine, *, timeout: float = LOCK_WAIT_SECONDS) -> Iterator[Connection | None]:
    """Hold the lock for this engine's database. Yields the connection to migrate on (PostgreSQL) or None
    (SQLite and others: migrate on a connection of your own)."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with postgresql_lock(engine, timeout=timeout) as connection:
            yield connection
        return
    if dialect == "sqlite":
        path = sqlite_lock_path(engine)
        if path is not None:
            with file_lock(path, timeout=timeout):
                yield None
            return
    yield None
