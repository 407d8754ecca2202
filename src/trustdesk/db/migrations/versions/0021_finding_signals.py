"""Stored findings keep where they came from: the signal that matched and, for a bank's
finding, the bank, the entry and the distance; a rule id wide enough for ``bank:<name>``.
Rows stored before read as ``text.terms``.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"


def upgrade() -> None:
    with op.batch_alter_table("content_findings") as batch:
        batch.add_column(
            sa.Column("signal", sa.String(length=16), server_default="text.terms", nullable=False)
        )
        batch.add_column(sa.Column("bank_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("entry_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("distance", sa.Integer(), nullable=True))
        batch.alter_column(
            "rule",
            existing_type=sa.String(length=64),
            type_=sa.String(length=80),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("content_findings") as batch:
        batch.alter_column(
            "rule",
            existing_type=sa.String(length=80),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
        batch.drop_column("distance")
        batch.drop_column("entry_id")
        batch.drop_column("bank_id")
        batch.drop_column("signal")
