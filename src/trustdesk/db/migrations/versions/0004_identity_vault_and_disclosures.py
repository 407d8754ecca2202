"""Identity: the vault of sealed identities, disclosure requests and their votes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import trustdesk.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "disclosure_requests",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("legal_basis", sa.String(length=500), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column(
            "subjects", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
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
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_disclosure_requests_requested_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_disclosure_requests_service_id_services"),
            ondelete="CASCADE",
        ),
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
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_identities_service_id_services"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint(
            "service_id", "blind_index", name=op.f("uq_identities_service_id_blind_index")
        ),
        sa.UniqueConstraint("service_id", "subject", name=op.f("uq_identities_service_id_subject")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identities_erase_after"), ["erase_after"], unique=False
        )

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
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["disclosure_requests.id"],
            name=op.f("fk_disclosure_votes_request_id_disclosure_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_disclosure_votes_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_votes")),
        sa.UniqueConstraint(
            "request_id", "user_id", name=op.f("uq_disclosure_votes_request_id_user_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("disclosure_votes")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_erase_after"))

    op.drop_table("identities")
    with op.batch_alter_table("disclosure_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_disclosure_requests_status")

    op.drop_table("disclosure_requests")
