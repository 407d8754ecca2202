"""Separation of duties: confirmed role grants, who controls each account, and identities
sealed to their subject.

``user_roles`` gains who granted each role and who confirmed it (a pending grant holds no
permission); roles held before this revision stay in force. ``user_controls`` records who
created, re-roled or reset each account; it is filled here from the record log's
``auth:user:*`` entries, so an approver made or reset by one administrator before the
upgrade stays tied to them. ``identities.seal_version`` says what a ciphertext is bound to:
rows sealed before this revision are version 1 (row and service) until ``trustdesk vault
rotate`` seals them again as version 2 (row, service and subject).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0008"
down_revision: str | None = "0007"

# The log events that give one account control over another, and how.
CONTROLLING_EVENTS = {
    "auth:user:created": "created",
    "auth:user:roles_changed": "roles",
    "auth:user:password_set": "password",
}


def upgrade() -> None:
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("granted_by", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("granted_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("confirmed_by", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("confirmed_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True)
        )

    op.create_table(
        "user_controls",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("controller_id", sa.Uuid(), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("user_controls", "user_id", "users"),
        sa.PrimaryKeyConstraint("user_id", "controller_id", "how", name=op.f("pk_user_controls")),
    )
    ddl.index_columns("user_controls", "controller_id")

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("seal_version", sa.SmallInteger(), server_default="1", nullable=False)
        )

    _controls_from_the_log()


def _controls_from_the_log() -> None:
    """Who created, re-roled or reset whom, as the record log tells it."""
    connection = op.get_bind()
    entries = sa.table(
        "log_entries",
        sa.column("index", sa.BigInteger()),
        sa.column("type", sa.String()),
        sa.column("recorded_at", trustdesk.db.base.UTCDateTime(timezone=True)),
        sa.column("leaf", sa.LargeBinary()),
    )
    users = sa.table("users", sa.column("id", sa.Uuid()))
    controls = sa.table(
        "user_controls",
        sa.column("user_id", sa.Uuid()),
        sa.column("controller_id", sa.Uuid()),
        sa.column("how", sa.String()),
        sa.column("created_at", trustdesk.db.base.UTCDateTime(timezone=True)),
    )
    known = set(connection.scalars(sa.select(users.c.id)))
    found: dict[tuple[uuid.UUID, uuid.UUID, str], Any] = {}
    rows = connection.execute(
        sa.select(entries.c.type, entries.c.recorded_at, entries.c.leaf)
        .where(entries.c.type.in_(list(CONTROLLING_EVENTS)))
        .order_by(entries.c.index)
    )
    for type_, recorded_at, leaf in rows:
        data = json.loads(bytes(leaf)).get("data", {})
        try:
            user_id, by = uuid.UUID(str(data["user_id"])), uuid.UUID(str(data["by"]))
        except (KeyError, ValueError):
            continue  # made by the command line: the operator controls no account
        if user_id != by and user_id in known:
            found.setdefault((user_id, by, CONTROLLING_EVENTS[type_]), recorded_at)
    if found:
        op.bulk_insert(
            controls,
            [
                {"user_id": u, "controller_id": c, "how": how, "created_at": at}
                for (u, c, how), at in found.items()
            ],
        )


def downgrade() -> None:
    """Pending grants are dropped; identities sealed as version 2 do not open in 0007's code
    (seal them again first or keep this revision)."""
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_column("seal_version")
    ddl.drop_table("user_controls", op.f("ix_user_controls_controller_id"))
    op.execute(sa.text("DELETE FROM user_roles WHERE pending"))
    with op.batch_alter_table("user_roles", schema=None) as batch_op:
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("confirmed_by")
        batch_op.drop_column("granted_at")
        batch_op.drop_column("granted_by")
        batch_op.drop_column("pending")
