"""An index for the shadow rules' results: findings by mode, then item.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    op.create_index(
        "ix_content_findings_mode_item", "content_findings", ["mode", "item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_content_findings_mode_item", table_name="content_findings")
