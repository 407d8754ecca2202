"""Compliance register: filings and their documents, servers and data stores, residency
findings, the cryptography inventory.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import trustdesk.db.base
from trustdesk.db import ddl

revision: str = "0005"
down_revision: str | None = "0004"


def upgrade() -> None:
    op.create_table(
        "crypto_assets",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("asset_type", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("oid", sa.String(length=100), nullable=True),
        sa.Column("primitive", sa.String(length=16), nullable=True),
        sa.Column("parameter_set", sa.String(length=64), nullable=True),
        sa.Column("curve", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=True),
        sa.Column("padding", sa.String(length=16), nullable=True),
        sa.Column("functions", ddl.json_type(), nullable=False),
        sa.Column("security_level", sa.Integer(), nullable=True),
        sa.Column("protocol", sa.String(length=16), nullable=True),
        sa.Column("version", sa.String(length=32), nullable=True),
        sa.Column(
            "cipher_suites",
            ddl.json_type(),
            nullable=False,
        ),
        sa.Column("subject_name", sa.String(length=500), nullable=True),
        sa.Column("issuer_name", sa.String(length=500), nullable=True),
        sa.Column("not_valid_before", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("not_valid_after", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("certificate_format", sa.String(length=32), nullable=True),
        sa.Column("key_type", sa.String(length=16), nullable=True),
        sa.Column("key_size", sa.Integer(), nullable=True),
        sa.Column("key_state", sa.String(length=16), nullable=True),
        sa.Column("key_format", sa.String(length=32), nullable=True),
        sa.Column("secured_by", sa.String(length=200), nullable=True),
        sa.Column("created_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("algorithm_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["algorithm_id"],
            ["crypto_assets.id"],
            name=op.f("fk_crypto_assets_algorithm_id_crypto_assets"),
            ondelete="SET NULL",
        ),
        ddl.references("crypto_assets", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crypto_assets")),
        sa.UniqueConstraint(
            "service_id",
            "asset_type",
            "name",
            name=op.f("uq_crypto_assets_service_id_asset_type_name"),
        ),
    )
    ddl.index_columns("crypto_assets", "service_id")

    op.create_table(
        "filings",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("authority", sa.String(length=200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("filings", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filings")),
        sa.UniqueConstraint(
            "service_id", "kind", "number", name=op.f("uq_filings_service_id_kind_number")
        ),
    )
    ddl.index_columns("filings", "service_id")

    op.create_table(
        "servers",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=8), nullable=False),
        sa.Column("gbt2260", sa.String(length=6), nullable=True),
        sa.Column("updated_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        ddl.references("servers", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_servers")),
        sa.UniqueConstraint("service_id", "name", name=op.f("uq_servers_service_id_name")),
    )
    ddl.index_columns("servers", "service_id")

    op.create_table(
        "crypto_asset_servers",
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=False),
        ddl.references("crypto_asset_servers", "asset_id", "crypto_assets"),
        ddl.references("crypto_asset_servers", "server_id", "servers"),
        sa.PrimaryKeyConstraint("asset_id", "server_id", name=op.f("pk_crypto_asset_servers")),
    )
    ddl.index_columns("crypto_asset_servers", "server_id")

    op.create_table(
        "filing_documents",
        sa.Column("filing_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        ddl.references("filing_documents", "filing_id", "filings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_filing_documents")),
    )
    ddl.index_columns("filing_documents", "filing_id")

    op.create_table(
        "residency_findings",
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("server_name", sa.String(length=200), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("obligation_id", sa.String(length=128), nullable=False),
        sa.Column("article", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", trustdesk.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("resolved_automatically", sa.Boolean(), nullable=False),
        sa.Column("resolution", sa.String(length=2000), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_residency_findings_server_id_servers"),
            ondelete="SET NULL",
        ),
        ddl.references("residency_findings", "service_id", "services"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residency_findings")),
    )
    ddl.index_columns("residency_findings", "server_id", "service_id", "status")

    ddl.create_link_table(
        "server_data_classes", "server_id", "servers", "data_class", sa.String(length=16)
    )
    ddl.create_link_table(
        "server_populations", "server_id", "servers", "region", sa.String(length=8)
    )


def downgrade() -> None:
    op.drop_table("server_populations")
    op.drop_table("server_data_classes")
    ddl.drop_table(
        "residency_findings",
        op.f("ix_residency_findings_status"),
        op.f("ix_residency_findings_service_id"),
        op.f("ix_residency_findings_server_id"),
    )
    ddl.drop_table("filing_documents", op.f("ix_filing_documents_filing_id"))
    ddl.drop_table("crypto_asset_servers", op.f("ix_crypto_asset_servers_server_id"))
    ddl.drop_table("servers", op.f("ix_servers_service_id"))
    ddl.drop_table("filings", op.f("ix_filings_service_id"))
    ddl.drop_table("crypto_assets", op.f("ix_crypto_assets_service_id"))
