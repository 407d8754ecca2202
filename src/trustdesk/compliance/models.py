"""Tables of the compliance slice: the provider's services (trustdesk's tenants) and their
register: filings, servers and data stores, residency findings, the cryptography inventory."""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.compliance.vocabulary import (
    AssetKind,
    CryptoAssetType,
    DataClass,
    FindingReason,
    FindingStatus,
    KeyState,
    KeyType,
    Mode,
    Padding,
    Primitive,
    ProtocolType,
)
from trustdesk.db.base import Base, CreatedAt, PortableJSON, StrEnumType, UUIDPrimaryKey, utcnow
from trustdesk.policy.vocabulary import FilingKind, ServiceType


def _owner(table: str, *, primary_key: bool = False, index: bool | None = None) -> Any:
    """The id of the ``table`` row this row belongs to, deleted with it."""
    return mapped_column(
        ForeignKey(f"{table}.id", ondelete="CASCADE"), primary_key=primary_key, index=index
    )


def _owned(order_by: str) -> Any:
    """The rows that belong to this one, loaded with it in ``order_by`` order, deleted with it."""
    return relationship(cascade="all, delete-orphan", lazy="selectin", order_by=order_by)


class Service(UUIDPrimaryKey, CreatedAt, Base):
    """One product of the provider that trustdesk serves: the unit every record belongs to."""

    __tablename__ = "services"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    types: Mapped[list[ServiceTypeRow]] = _owned("ServiceTypeRow.type")
    packs: Mapped[list[ServicePack]] = _owned("ServicePack.pack_id")


class ServiceTypeRow(Base):
    """One kind of service (art. 2) that a service offers."""

    __tablename__ = "service_types"

    service_id: Mapped[uuid.UUID] = _owner("services", primary_key=True)
    type: Mapped[ServiceType] = mapped_column(StrEnumType(ServiceType, 32), primary_key=True)


class ServicePack(Base):
    """A policy pack that applies to a service."""

    __tablename__ = "service_packs"

    service_id: Mapped[uuid.UUID] = _owner("services", primary_key=True)
    pack_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class Filing(UUIDPrimaryKey, CreatedAt, Base):
    """A permit (许可) or filing (备案) a service holds (notice art. 2)."""

    __tablename__ = "filings"
    __table_args__ = (UniqueConstraint("service_id", "kind", "number"),)

    service_id: Mapped[uuid.UUID] = _owner("services", index=True)
    kind: Mapped[FilingKind] = mapped_column(StrEnumType(FilingKind, 16))
    number: Mapped[str] = mapped_column(String(100))
    authority: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(200))
    log_index: Mapped[int] = mapped_column(BigInteger)
    documents: Mapped[list[FilingDocument]] = _owned("FilingDocument.uploaded_at")


class FilingDocument(UUIDPrimaryKey, Base):
    """A scan of a permit or filing; its SHA-256 is in the record log."""

    __tablename__ = "filing_documents"

    filing_id: Mapped[uuid.UUID] = _owner("filings", index=True)
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    log_index: Mapped[int] = mapped_column(BigInteger)


class Server(UUIDPrimaryKey, CreatedAt, Base):
    """A server or data store of a service, where it stands and what it holds (art. 3)."""

    __tablename__ = "servers"
    __table_args__ = (UniqueConstraint("service_id", "name"),)

    service_id: Mapped[uuid.UUID] = _owner("services", index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AssetKind] = mapped_column(StrEnumType(AssetKind, 16))
    role: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(8))  # ISO 3166-2
    gbt2260: Mapped[str | None] = mapped_column(String(6))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    data_classes: Mapped[list[ServerDataClass]] = _owned("ServerDataClass.data_class")
    populations: Mapped[list[ServerPopulation]] = _owned("ServerPopulation.region")


class ServerDataClass(Base):
    """A class of data a server holds."""

    __tablename__ = "server_data_classes"

    server_id: Mapped[uuid.UUID] = _owner("servers", primary_key=True)
    data_class: Mapped[DataClass] = mapped_column(StrEnumType(DataClass, 16), primary_key=True)


class ServerPopulation(Base):
    """A user population (ISO 3166 code) a server serves."""

    __tablename__ = "server_populations"

    server_id: Mapped[uuid.UUID] = _owner("servers", primary_key=True)
    region: Mapped[str] = mapped_column(String(8), primary_key=True)


class ResidencyFinding(UUIDPrimaryKey, Base):
    """A server that breaks a pack's residency rule; open until resolved (art. 3, 8).

    ``state`` is the digest of the server's location and populations when the finding
    opened: a finding a person resolved is not reopened while that state stays the same.
    """

    __tablename__ = "residency_findings"

    service_id: Mapped[uuid.UUID] = _owner("services", index=True)
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("servers.id", ondelete="SET NULL"), index=True
    )
    server_name: Mapped[str] = mapped_column(String(200))
    pack_id: Mapped[str] = mapped_column(String(64))
    obligation_id: Mapped[str] = mapped_column(String(128))
    article: Mapped[str] = mapped_column(String(32))
    reason: Mapped[FindingReason] = mapped_column(StrEnumType(FindingReason, 32))
    detail: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(64))
    status: Mapped[FindingStatus] = mapped_column(StrEnumType(FindingStatus, 16), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_automatically: Mapped[bool] = mapped_column(default=False)
    resolution: Mapped[str | None] = mapped_column(String(2000))


class CryptoAsset(UUIDPrimaryKey, CreatedAt, Base):
    """An algorithm, protocol, certificate or key (metadata only) a service uses (art. 3).

    There is deliberately no column that could hold key material.
    """

    __tablename__ = "crypto_assets"
    __table_args__ = (UniqueConstraint("service_id", "asset_type", "name"),)

    service_id: Mapped[uuid.UUID] = _owner("services", index=True)
    asset_type: Mapped[CryptoAssetType] = mapped_column(StrEnumType(CryptoAssetType, 16))
    name: Mapped[str] = mapped_column(String(200))
    oid: Mapped[str | None] = mapped_column(String(100))
    # algorithm
    primitive: Mapped[Primitive | None] = mapped_column(StrEnumType(Primitive, 16))
    parameter_set: Mapped[str | None] = mapped_column(String(64))
    curve: Mapped[str | None] = mapped_column(String(64))
    mode: Mapped[Mode | None] = mapped_column(StrEnumType(Mode, 16))
    padding: Mapped[Padding | None] = mapped_column(StrEnumType(Padding, 16))
    functions: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    security_level: Mapped[int | None]
    # protocol
    protocol: Mapped[ProtocolType | None] = mapped_column(StrEnumType(ProtocolType, 16))
    version: Mapped[str | None] = mapped_column(String(32))
    cipher_suites: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # certificate
    subject_name: Mapped[str | None] = mapped_column(String(500))
    issuer_name: Mapped[str | None] = mapped_column(String(500))
    not_valid_before: Mapped[datetime | None]
    not_valid_after: Mapped[datetime | None]
    certificate_format: Mapped[str | None] = mapped_column(String(32))
    # key (metadata only: type, size, state, dates, what protects it)
    key_type: Mapped[KeyType | None] = mapped_column(StrEnumType(KeyType, 16))
    key_size: Mapped[int | None]
    key_state: Mapped[KeyState | None] = mapped_column(StrEnumType(KeyState, 16))
    key_format: Mapped[str | None] = mapped_column(String(32))
    secured_by: Mapped[str | None] = mapped_column(String(200))
    created_on: Mapped[dt.date | None] = mapped_column(Date)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    # certificate: signing algorithm; key: its algorithm; protocol suites: their algorithms
    algorithm_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("crypto_assets.id", ondelete="SET NULL")
    )
    recorded_by: Mapped[str] = mapped_column(String(200))
    servers: Mapped[list[CryptoAssetServer]] = _owned("CryptoAssetServer.server_id")


class CryptoAssetServer(Base):
    """Where a cryptographic asset is used."""

    __tablename__ = "crypto_asset_servers"

    asset_id: Mapped[uuid.UUID] = _owner("crypto_assets", primary_key=True)
    server_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
