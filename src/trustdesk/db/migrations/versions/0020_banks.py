"""Banks: named lists of hashes and domains, their entries (kept as history) and changes.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0020"
down_revision: str | None = "0019"

_UTC = trustdesk.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("signal", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=True),
        sa.Column("negative", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("banks", "owner_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banks")),
        sa.UniqueConstraint("owner_id", "name", name=op.f("uq_banks_owner_id_name")),
    )
    with op.batch_alter_table("banks", schema=None) as batch_op:
        batch_op.create_index(op.f("ix_banks_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            "ix_banks_shared_name",
            ["name"],
            unique=True,
            sqlite_where=sa.text("owner_id IS NULL"),
            postgresql_where=sa.text("owner_id IS NULL"),
        )
    op.create_table(
        "bank_changes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bank_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.Column("log_index", sa.Integer(), nullable=False),
        ddl.references("bank_changes", "bank_id", "banks"),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_bank_changes")),
    )
    ddl.index_columns("bank_changes", "bank_id")
    op.create_table(
        "bank_entries",
        sa.Column("bank_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("added_at", _UTC, nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_change", sa.Integer(), nullable=False),
        sa.Column("removed_at", _UTC, nullable=True),
        sa.Column("removed_by", sa.String(length=200), nullable=True),
        sa.Column("removed_change", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("bank_entries", "bank_id", "banks"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
    )
    with op.batch_alter_table("bank_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bank_entries_live",
            ["bank_id", "digest"],
            unique=True,
            sqlite_where=sa.text("removed_at IS NULL"),
            postgresql_where=sa.text("removed_at IS NULL"),
        )
        batch_op.create_index("ix_bank_entries_bank_digest", ["bank_id", "digest"])
        batch_op.create_index("ix_bank_entries_added_change", ["added_change"])
        batch_op.create_index("ix_bank_entries_removed_change", ["removed_change"])


def downgrade() -> None:
    ddl.drop_table(
        "bank_entries",
        "ix_bank_entries_live",
        "ix_bank_entries_bank_digest",
        "ix_bank_entries_added_change",
        "ix_bank_entries_removed_change",
    )
    ddl.drop_table("bank_changes", op.f("ix_bank_changes_bank_id"))
    ddl.drop_table("banks", op.f("ix_banks_owner_id"), "ix_banks_shared_name")
