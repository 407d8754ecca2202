"""Rescans: a service's stored content screened again with a rule set, resumable; the
service's stored items indexed in the order a rescan reads them.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0016"
down_revision: str | None = "0015"


def upgrade() -> None:
    op.create_table(
        "rescans",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("ruleset", sa.String(length=64), nullable=False),
        sa.Column("since", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("apply", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cursor_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cursor_id", sa.Uuid(), nullable=True),
        sa.Column("report", ddl.json_type(), nullable=False),
        sa.Column("started_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("rescans", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rescans")),
    )
    with op.batch_alter_table("rescans", schema=None) as batch_op:
        batch_op.create_index("ix_rescans_service_ruleset", ["service_id", "ruleset"], unique=False)
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_content_items_service_created", ["service_id", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.drop_index("ix_content_items_service_created")
    ddl.drop_table("rescans", "ix_rescans_service_ruleset")
