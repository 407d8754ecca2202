"""Receipts of stream events that were acted on: a redelivered event is answered from its
receipt, never screened or acted on twice (``trustdesk consume``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0015"
down_revision: str | None = "0014"


def upgrade() -> None:
    op.create_table(
        "stream_receipts",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("content_id", sa.String(length=200), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("verdict", ddl.json_type(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("stream_receipts", "service_id", "services"),
        ddl.references("stream_receipts", "item_id", "content_items"),
        sa.PrimaryKeyConstraint(
            "service_id", "source", "content_id", name=op.f("pk_stream_receipts")
        ),
    )
    with op.batch_alter_table("stream_receipts", schema=None) as batch_op:
        batch_op.create_index("ix_stream_receipts_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_stream_receipts_item_id", ["item_id"], unique=False)


def downgrade() -> None:
    ddl.drop_table("stream_receipts", "ix_stream_receipts_created_at", "ix_stream_receipts_item_id")
