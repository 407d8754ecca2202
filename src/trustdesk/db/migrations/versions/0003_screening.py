"""Screening: rule-set versions and deployments, stored content and findings, counts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0003"
down_revision: str | None = "0002"


def upgrade() -> None:
    op.create_table(
        "ruleset_versions",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("archive", sa.LargeBinary(), nullable=False),
        sa.Column("rules", sa.Integer(), nullable=False),
        sa.Column("terms", sa.BigInteger(), nullable=False),
        sa.Column("patterns", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_ruleset_versions")),
    )
    op.create_table(
        "content_items",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("content_id", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("ruleset", sa.String(length=64), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("content_items", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_items")),
    )
    with op.batch_alter_table("content_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_content_items_service_content", ["service_id", "content_id"], unique=False
        )

    op.create_table(
        "ruleset_deployments",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("deployed_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deployed_by", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("ruleset_deployments", "service_id", "services"),
        sa.ForeignKeyConstraint(
            ["version"],
            ["ruleset_versions.version"],
            name=op.f("fk_ruleset_deployments_version_ruleset_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ruleset_deployments")),
    )
    with op.batch_alter_table("ruleset_deployments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ruleset_deployments_service_sequence", ["service_id", "sequence"], unique=True
        )

    op.create_table(
        "screening_counts",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        ddl.references("screening_counts", "service_id", "services"),
        sa.PrimaryKeyConstraint("service_id", "day", "verdict", name=op.f("pk_screening_counts")),
    )
    op.create_table(
        "content_findings",
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("content_findings", "item_id", "content_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_findings")),
    )
    ddl.index_columns("content_findings", "item_id")


def downgrade() -> None:
    ddl.drop_table("content_findings", op.f("ix_content_findings_item_id"))
    op.drop_table("screening_counts")
    ddl.drop_table("ruleset_deployments", "ix_ruleset_deployments_service_sequence")
    ddl.drop_table("content_items", "ix_content_items_service_content")
    op.drop_table("ruleset_versions")
