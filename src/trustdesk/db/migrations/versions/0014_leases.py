"""Leases, so each background loop runs in one process of all the hosts, and shared rate
windows, so the public routes' limits hold across processes and hosts.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from trustdesk.db import ddl
from trustdesk.db.base import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "rate_windows",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", "client", "minute", name=op.f("pk_rate_windows")),
    )
    ddl.index_columns("rate_windows", "minute")


def downgrade() -> None:
    ddl.drop_table("rate_windows", "ix_rate_windows_minute")
    op.drop_table("leases")
