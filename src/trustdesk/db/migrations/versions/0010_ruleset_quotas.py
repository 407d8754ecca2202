"""Rule-set uploads, counted by the deploys-per-hour quota.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0010"
down_revision: str | None = "0009"


def upgrade() -> None:
    op.create_table(
        "ruleset_uploads",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("ruleset_uploads", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_uploads")),
    )
    with op.batch_alter_table("ruleset_uploads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ruleset_uploads_service_at", ["service_id", "uploaded_at"], unique=False
        )


def downgrade() -> None:
    ddl.drop_table("ruleset_uploads", "ix_ruleset_uploads_service_at")
