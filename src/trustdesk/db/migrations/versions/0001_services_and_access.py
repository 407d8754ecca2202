"""Services (tenants), their types and packs; API keys; console users and roles.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0001"
down_revision: str | None = None


def upgrade() -> None:
    op.create_table(
        "services",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("name", name=op.f("uq_services_name")),
    )
    ddl.create_link_table("service_types", "service_id", "services", "type", sa.String(length=32))
    ddl.create_link_table(
        "service_packs", "service_id", "services", "pack_id", sa.String(length=64)
    )
    op.create_table(
        "api_keys",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", trustdesk.db.base.UTCDateTime(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(), nullable=False),
        ddl.references("api_keys", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_keys_digest")),
    )
    op.create_index(op.f("ix_api_keys_service_id"), "api_keys", ["service_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    ddl.create_link_table("user_roles", "user_id", "users", "role", sa.String(length=32))


def downgrade() -> None:
    op.drop_table("user_roles")
    op.drop_table("users")
    op.drop_index(op.f("ix_api_keys_service_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("service_packs")
    op.drop_table("service_types")
    op.drop_table("services")
