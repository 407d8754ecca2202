"""Identity: the vault of sealed identities, disclosure requests and their votes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    op.create_table(
        "disclosure_requests",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("subjects", ddl.json_type(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=False),
        sa.Column("requested_by_name", sa.String(length=64), nullable=False),
        sa.Column("approvals_required", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revealed_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("disclosure_requests", "requested_by", "users", cascade=False),
        ddl.references("disclosure_requests", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_requests")),
    )
    with op.batch_alter_table("disclosure_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_disclosure_requests_status", ["status", "created_at"], unique=False
        )

    op.create_table(
        "identities",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("document_type", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("blind_index", sa.LargeBinary(length=32), nullable=True),
        sa.Column("kek_id", sa.String(length=64), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("updated_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("verified_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erase_after", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("erased_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("identities", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint(
            "service_id", "blind_index", name=op.f("uq_identities_service_id_blind_index")
        ),
        sa.UniqueConstraint("service_id", "subject", name=op.f("uq_identities_service_id_subject")),
    )
    ddl.index_columns("identities", "erase_after")

    op.create_table(
        "disclosure_votes",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("approve", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("disclosure_votes", "request_id", "disclosure_requests"),
        ddl.references("disclosure_votes", "user_id", "users", cascade=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_votes")),
        sa.UniqueConstraint(
            "request_id", "user_id", name=op.f("uq_disclosure_votes_request_id_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("disclosure_votes")
    ddl.drop_table("identities", op.f("ix_identities_erase_after"))
    ddl.drop_table("disclosure_requests", "ix_disclosure_requests_status")
