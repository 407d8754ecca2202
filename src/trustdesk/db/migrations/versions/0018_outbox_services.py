"""The screening outbox knows each row's service, so a drain takes the services in turn
and the door's backpressure counts each service's backlog on its own: one tenant's flood
of blocked items neither delays another's follow-ups nor holds up another's screens.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"


def upgrade() -> None:
    with op.batch_alter_table("screening_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE screening_outbox SET service_id = (SELECT content_items.service_id"
        " FROM content_items WHERE content_items.id = screening_outbox.item_id)"
    )
    with op.batch_alter_table("screening_outbox", schema=None) as batch_op:
        batch_op.alter_column("service_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.create_index(
            "ix_screening_outbox_parked_service",
            ["parked_at", "service_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("screening_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_screening_outbox_parked_service")
        batch_op.drop_column("service_id")
