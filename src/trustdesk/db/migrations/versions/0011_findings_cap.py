"""Stored content keeps at most the screener's cap of findings: say when it was cut, and how
often each rule matched in all.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trustdesk.db import ddl

revision: str = "0011"
down_revision: str | None = "0010"


def upgrade() -> None:
    with op.batch_alter_table("content_items") as batch:
        batch.add_column(
            sa.Column("findings_truncated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("rule_counts", ddl.json_type(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("content_items") as batch:
        batch.drop_column("rule_counts")
        batch.drop_column("findings_truncated")
