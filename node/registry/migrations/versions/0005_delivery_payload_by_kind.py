"""delivery: what it sends in one column per kind (result IDs, original paths) instead of one payload

Revision ID: 0005
Revises: 0004

The existing rows are carried over: an ``originals`` delivery's payload becomes its ``original_paths``,
a ``results`` or ``ris`` delivery's its ``result_ids``; the downgrade puts them back into ``payload``.

Columns are added and dropped in place (``ALTER TABLE``, SQLite 3.35 or newer), never by copying the table:
on SQLite a copy drops the old ``delivery`` table, and with foreign keys on that would delete its attempts.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EMPTY = "[]"  # a literal default: SQLite adds the column in place


def _delivery(*columns: str) -> sa.TableClause:
    return sa.table(
        "delivery",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        *(sa.column(name, sa.JSON()) for name in columns),
    )


def _rows(table: sa.TableClause, *columns: str) -> list[Any]:
    connection = op.get_bind()
    return list(connection.execute(sa.select(table.c.id, table.c.kind, *(table.c[c] for c in columns))))


def upgrade() -> None:
    op.add_column("delivery", sa.Column("result_ids", sa.JSON(), nullable=False, server_default=_EMPTY))
    op.add_column("delivery", sa.Column("original_paths", sa.JSON(), nullable=False, server_default=_EMPTY))
    table = _delivery("payload", "result_ids", "original_paths")
    connection = op.get_bind()
    for delivery_id, kind, payload in _rows(table, "payload"):
        items = list(payload or [])
        if kind == "originals":
            values: dict[str, Any] = {"original_paths": [str(p) for p in items]}
        else:
            values = {"result_ids": [int(i) for i in items]}
        connection.execute(sa.update(table).where(table.c.id == delivery_id).values(**values))
    op.drop_column("delivery", "payload")


def downgrade() -> None:
    op.add_column("delivery", sa.Column("payload", sa.JSON(), nullable=False, server_default=_EMPTY))
    table = _delivery("payload", "result_ids", "original_paths")
    connection = op.get_bind()
    for delivery_id, kind, result_ids, original_paths in _rows(table, "result_ids", "original_paths"):
        payload = list(original_paths or []) if kind == "originals" else list(result_ids or [])
        connection.execute(sa.update(table).where(table.c.id == delivery_id).values(payload=payload))
    op.drop_column("delivery", "result_ids")
    op.drop_column("delivery", "original_paths")
