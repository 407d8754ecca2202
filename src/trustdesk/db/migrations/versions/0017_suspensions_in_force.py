"""Suspensions in force: decisions indexed by service and the end of their suspension, so
the follow-up finds whether a subject is suspended already without reading its cases.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_decisions_service_suspend_until", ["service_id", "suspend_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_service_suspend_until")
