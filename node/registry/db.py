"""Engine, sessions and schema migrations (Alembic) for the registry.

Every process that opens the registry brings its schema to the newest revision. When the database already
is at it (every start but the first after an upgrade), one query of ``alembic_version`` says so and Alembic
is not even imported: it costs a command such as ``spinenode studies`` about a quarter of a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from node.registry.dbapi import POSTGRESQL_CONNECT_ARGS
from node.registry.migrate_lock import migration_lock
from node.registry.revisions import MIGRATIONS, head_revision

if TYPE_CHECKING:
    from alembic.config import Config


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def out_of_reach(exc: BaseException) -> bool:
    """True when ``exc`` says the registry's server could not be reached or dropped the connection (a link cut,
    a server restarting), not that a statement was wrong: SQLAlchemy saw the connection invalidated, or the
    PostgreSQL driver raised its connection-level error. The same work succeeds once the server is back.
    SQLite's errors are never taken for this: its file is local, and its OperationalError also means a
    statement on a table that does not exist."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    return type(orig).__module__.split(".")[0] == "psycopg" and any(
        c.__name__ in ("OperationalError", "InterfaceError") for c in type(orig).__mro__
    )


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect_args = POSTGRESQL_CONNECT_ARGS if url.startswith("postgresql") else {}
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def schema_revisions(engine: Engine) -> list[str] | None:
    """The revisions in the database's ``alembic_version`` table; None when it has no such table."""
    try:
        with engine.connect() as connection:
            return [str(v) for v in connection.execute(text("SELECT version_num FROM alembic_version")).scalars()]
    except DBAPIError:
        return None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent), one process at a time (see migrate_lock).
    A schema already at the newest revision is left alone without taking the lock or loading Alembic."""
    head = head_revision()
    if head is not None and schema_revisions(engine) == [head]:
        return
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with migration_lock(engine) as locked:
        if locked is not None:
            with locked.begin():
                cfg.attributes["connection"] = locked
                command.upgrade(cfg, "head")
            return
        with engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")


class Registry:
    """The registry database: an engine and its session factory."""

    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
