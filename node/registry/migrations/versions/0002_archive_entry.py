"""archive index of issued SRs

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "archive_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("result_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("study_uid", sa.String(length=64), nullable=False),
        sa.Column("patient_key", sa.String(length=32), nullable=True),
        sa.Column("study_date", sa.String(length=8), nullable=True),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("predecessor_uid", sa.String(length=64), nullable=True),
        sa.Column("grades", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("codes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["result_id"], ["result.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("result_id"),
        sa.UniqueConstraint("sop_instance_uid"),
    )
    op.create_index("ix_archive_entry_study_id", "archive_entry", ["study_id"])
    op.create_index("ix_archive_entry_study_uid", "archive_entry", ["study_uid"])
    op.create_index("ix_archive_entry_patient_key", "archive_entry", ["patient_key"])
    op.create_index("ix_archive_entry_issued_at", "archive_entry", ["issued_at"])
    op.create_index("ix_archive_entry_predecessor_uid", "archive_entry", ["predecessor_uid"])


def downgrade() -> None:
    op.drop_table("archive_entry")
