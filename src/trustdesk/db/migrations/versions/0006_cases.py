"""Cases: notices, trusted flaggers, cases, decisions, actions, webhooks, statements,
strikes and appeals.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("content_id", sa.String(length=200), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("automated_detection", sa.Boolean(), nullable=False),
        sa.Column("opened_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.Uuid(), nullable=True),
        sa.Column("claim_expires_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("cases", "claimed_by", "users", cascade=False),
        ddl.references("cases", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_queue", ["status", "priority", "opened_at"], unique=False)
        batch_op.create_index("ix_cases_service_subject", ["service_id", "subject"], unique=False)
        batch_op.create_index("ix_cases_service_target", ["service_id", "target"], unique=False)

    op.create_table(
        "trusted_flaggers",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_digest", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("trusted_flaggers", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_flaggers")),
        sa.UniqueConstraint("key_digest", name=op.f("uq_trusted_flaggers_key_digest")),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("updated_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=True),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=True),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        ddl.references("webhooks", "id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "case_items",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("item_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("case_items", "case_id", "cases"),
        ddl.references("case_items", "item_id", "content_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_items")),
        sa.UniqueConstraint("item_id", name=op.f("uq_case_items_item_id")),
    )
    op.create_table(
        "decisions",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("puid", sa.String(length=100), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("citation", sa.String(length=200), nullable=False),
        sa.Column("basis", sa.String(length=8), nullable=False),
        sa.Column("actions", ddl.json_type(), nullable=False),
        sa.Column("suspend_until", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.Column("automated_detection", sa.Boolean(), nullable=False),
        sa.Column("automated_decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("content_date", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("appeal_of", sa.Uuid(), nullable=True),
        sa.Column("reversed_by", sa.Uuid(), nullable=True),
        sa.Column("time_to_action_ms", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("decisions", "appeal_of", "decisions", cascade=False),
        ddl.references("decisions", "case_id", "cases"),
        ddl.references("decisions", "decided_by", "users", cascade=False),
        ddl.references("decisions", "reversed_by", "decisions", cascade=False),
        ddl.references("decisions", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
        sa.UniqueConstraint("puid", name=op.f("uq_decisions_puid")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_decisions_service_decided", ["service_id", "decided_at"], unique=False
        )

    op.create_table(
        "notices",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("content_id", sa.String(length=200), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("notifier_name", sa.String(length=200), nullable=True),
        sa.Column("notifier_email", sa.String(length=254), nullable=True),
        sa.Column("good_faith", sa.Boolean(), nullable=False),
        sa.Column("trusted_flagger_id", sa.Uuid(), nullable=True),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("notices", "case_id", "cases"),
        ddl.references("notices", "service_id", "services"),
        sa.ForeignKeyConstraint(
            ["trusted_flagger_id"],
            ["trusted_flaggers.id"],
            name=op.f("fk_notices_trusted_flagger_id_trusted_flaggers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_notices_token_digest")),
    )
    op.create_table(
        "actions",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("content_id", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("until", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("time_to_delivery_ms", sa.BigInteger(), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("actions", "decision_id", "decisions"),
        ddl.references("actions", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
    )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.create_index("ix_actions_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_actions_service_status", ["service_id", "status"], unique=False)

    op.create_table(
        "appeals",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("by", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("filed_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Uuid(), nullable=True),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("appeals", "decided_by", "users", cascade=False),
        ddl.references("appeals", "decision_id", "decisions"),
        ddl.references("appeals", "outcome", "decisions", cascade=False),
        ddl.references("appeals", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeals")),
    )
    op.create_table(
        "statements",
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("statements", "decision_id", "decisions"),
        ddl.references("statements", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    op.create_table(
        "strikes",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("decision_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("strikes", "decision_id", "decisions"),
        ddl.references("strikes", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strikes")),
    )
    with op.batch_alter_table("strikes", schema=None) as batch_op:
        batch_op.create_index("ix_strikes_service_subject", ["service_id", "subject"], unique=False)


def downgrade() -> None:
    ddl.drop_table("strikes", "ix_strikes_service_subject")
    op.drop_table("statements")
    op.drop_table("appeals")
    ddl.drop_table("actions", "ix_actions_service_status", "ix_actions_due")
    op.drop_table("notices")
    ddl.drop_table("decisions", "ix_decisions_service_decided")
    op.drop_table("case_items")
    op.drop_table("webhooks")
    op.drop_table("trusted_flaggers")
    ddl.drop_table("cases", "ix_cases_service_target", "ix_cases_service_subject", "ix_cases_queue")
