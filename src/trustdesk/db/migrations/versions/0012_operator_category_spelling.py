"""Cases and notices spell an operator's category as ``tos.<label>``, the one spelling the
queue, the decision endpoints and the log use; before, they stored ``tos:tos.<label>``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"

OLD_PREFIX = "tos:"  # the terms "pack" id and its colon, before the label's own "tos."
TABLES = ("cases", "notices")


def _respell(table: str, old: str, new: str) -> None:
    """Give every ``table.category`` starting with ``old`` the prefix ``new`` instead."""
    category = sa.column("category", sa.String())
    rows = sa.table(table, category)
    op.execute(
        rows.update()
        .where(category.startswith(old, autoescape=True))
        .values(category=sa.literal(new) + sa.func.substr(category, len(old) + 1))
    )


def upgrade() -> None:
    for table in TABLES:
        _respell(table, f"{OLD_PREFIX}tos.", "tos.")


def downgrade() -> None:
    for table in TABLES:
        _respell(table, "tos.", f"{OLD_PREFIX}tos.")
