"""Every process of a scaled-out node may start at the same moment on an empty database: ``serve`` and the
workers each open the registry (which brings the schema to the newest revision), and none of them crashes.

The processes wait on a shared start time and then run the same registry start-up as ``serve`` and
``worker`` (``node.runtime.Registry``), so they really race on the migration."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres import fresh_database
from sqlalchemy import create_engine, inspect, text

pytestmark = pytest.mark.integration


START = textwrap.dedent(
    """
    import logging, sys, time
    logging.basicConfig(level=logging.INFO)
    start_at = float(sys.argv[2])
    from node.registry.db import Registry
    time.sleep(max(0.0, start_at - time.time()))
    Registry(sys.argv[1]).dispose()
    print("started")
    """
)


def _start_together(url: str, count: int, log_dir: Path) -> list[tuple[int, str]]:
    start_at = time.time() + 4.0  # every interpreter has imported SQLAlchemy and Alembic by then
    procs = []
    for i in range(count):
        log = open(log_dir / f"start-{i}.log", "w+")  # noqa: SIM115 - read and closed below
        procs.append((subprocess.Popen([sys.executable, "-c", START, url, str(start_at)], stdout=log, stderr=log), log))
    out = []
    for proc, log in procs:
        rc = proc.wait(timeout=180)
        log.seek(0)
        out.append((rc, log.read()))
        log.close()
    return out


def _head() -> str:
    from alembic.script import ScriptDirectory

    from node.registry.db import MIGRATIONS, alembic_config

    cfg = alembic_config("sqlite://")
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return head


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    with fresh_database("spinenode_start") as url:
        yield url


def _assert_all_started(results: list[tuple[int, str]], url: str) -> None:
    crashed = [(rc, log[-600:]) for rc, log in results if rc != 0 or "started" not in log]
    assert not crashed, f"{len(crashed)} of {len(results)} starts crashed; first: {crashed[0]}"
    engine = create_engine(url)
    try:
        with engine.connect() as con:
            versions = con.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = set(inspect(con).get_table_names())
    finally:
        engine.dispose()
    assert versions == [_head()], "exactly one schema version row, the newest"
    assert {"study", "job", "delivery", "instance"} <= tables


@pytest.mark.parametrize("count", [3, 9])
def test_simultaneous_starts_postgresql(empty_postgres: str, tmp_path: Path, count: int) -> None:
    results = _start_together(empty_postgres, count, tmp_path)
    _assert_all_started(results, empty_postgres)
    waited = [log for _, log in results if "waiting for another process" in log]
    assert waited, "the processes that did not migrate said that they waited"


@pytest.mark.parametrize("count", [3, 9])
def test_simultaneous_starts_sqlite(tmp_path: Path, count: int) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'spinenode.db'}"
    results = _start_together(url, count, tmp_path)
    _assert_all_started(results, url)
