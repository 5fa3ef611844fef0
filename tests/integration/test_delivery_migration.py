"""Migration 0005 on SQLite and on a real PostgreSQL server: the deliveries a registry already holds keep
what they send (result IDs or original paths, by kind) and their attempts; the downgrade gives it back.
And the migrated schema is the one the models describe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from postgres import fresh_database
from sqlalchemy import Engine, select

from node.registry.db import Registry, alembic_config, make_engine
from node.registry.models import Attempt, Base, Delivery, DeliveryKind


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'r.sqlite'}"
        return
    with fresh_database() as database:
        yield database


def _to(engine: Engine, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(cfg, revision)


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("delivery")}


ROWS = [  # destination, kind, payload at revision 0004
    ("pacs", "results", [3, 4]),
    ("ris", "ris", [3]),
    ("research", "originals", ["/spool/a.dcm", "/spool/b.dcm"]),
    ("empty", "results", []),
]


def _fill_0004(engine: Engine) -> None:
    meta = sa.MetaData()
    study = sa.Table("study", meta, autoload_with=engine)
    delivery = sa.Table("delivery", meta, autoload_with=engine)
    attempt = sa.Table("attempt", meta, autoload_with=engine)
    now = sa.func.current_timestamp()
    with engine.begin() as con:
        study_id = con.execute(
            sa.insert(study).values(
                study_uid="1.2.3",
                state="reported",
                revision=1,
                priority="routine",
                flags=[],
                grades={},
                first_received_at=now,
                last_received_at=now,
            )
        ).inserted_primary_key[0]
        for name, kind, payload in ROWS:
            delivery_id = con.execute(
                sa.insert(delivery).values(
                    study_id=study_id,
                    revision=1,
                    destination=name,
                    kind=kind,
                    state="pending",
                    payload=payload,
                    created_at=now,
                    next_attempt_at=now,
                )
            ).inserted_primary_key[0]
            con.execute(sa.insert(attempt).values(delivery_id=delivery_id, started_at=now, ok=False, detail=name))


def test_existing_deliveries_keep_what_they_send_up_and_down(url: str) -> None:
    engine = make_engine(url)
    try:
        _to(engine, "0004")
        _fill_0004(engine)

        _to(engine, "head")
        assert {"result_ids", "original_paths"} <= _columns(engine) and "payload" not in _columns(engine)
        registry = Registry(url)  # already at head: nothing more to do
        try:
            with registry.session() as session:
                rows = {d.destination: d for d in session.scalars(select(Delivery))}
                assert rows["pacs"].kind == DeliveryKind.RESULTS and rows["pacs"].result_ids == [3, 4]
                assert rows["ris"].kind == DeliveryKind.RIS and rows["ris"].result_ids == [3]
                assert rows["research"].original_paths == ["/spool/a.dcm", "/spool/b.dcm"]
                assert rows["empty"].result_ids == []
                with pytest.raises(ValueError, match="originals, not results"):
                    _ = rows["research"].result_ids
                with pytest.raises(ValueError, match="not originals"):
                    _ = rows["pacs"].original_paths
                # the attempts survived the change of the table they belong to
                details = {a.delivery.destination: a.detail for a in session.scalars(select(Attempt))}
                assert details == {name: name for name, _, _ in ROWS}
                # a row made after the migration is read the same way
                new = Delivery.of_originals(rows["pacs"].study_id, 2, "research", ["/spool/c.dcm"])
                session.add(new)
                session.flush()
                new_id = new.id
        finally:
            registry.dispose()

        _to(engine, "0004", down=True)
        assert "payload" in _columns(engine) and "result_ids" not in _columns(engine)
        delivery = sa.Table("delivery", sa.MetaData(), autoload_with=engine)
        with engine.connect() as con:
            payloads = {row.id: (row.destination, row.payload) for row in con.execute(sa.select(delivery))}
        assert sorted(v for k, v in payloads.items() if k != new_id) == sorted((n, p) for n, _, p in ROWS)
        assert payloads[new_id] == ("research", ["/spool/c.dcm"])
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_one_the_models_describe(url: str) -> None:
    import node.accounts.models
    import node.audit.models  # noqa: F401 - their tables belong to the metadata

    registry = Registry(url)
    try:
        with registry.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        registry.dispose()
