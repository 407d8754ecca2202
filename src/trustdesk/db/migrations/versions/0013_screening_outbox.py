"""The screening outbox: a stored verdict's follow-up (count, log entry, case) waits here,
written with the item in one short transaction, until a drainer does it in a batch.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    op.create_table(
        "screening_outbox",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("context", ddl.json_type(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("parked_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        ddl.references("screening_outbox", "item_id", "content_items"),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_screening_outbox")),
    )
    with op.batch_alter_table("screening_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_screening_outbox_parked_created", ["parked_at", "created_at"], unique=False
        )


def downgrade() -> None:
    ddl.drop_table("screening_outbox", "ix_screening_outbox_parked_created")
