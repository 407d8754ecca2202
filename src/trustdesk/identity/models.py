"""Tables of the identity slice: the vault of real identities, and disclosure requests.

No column ever holds a document number or a name in the clear: ``ciphertext`` is the
sealed identity (AES-256-GCM under its own data key, wrapped by a key-encryption key of
the key ring), and ``blind_index`` is an HMAC of the document number under a key kept
outside the database. Destroying ``wrapped_key`` (crypto-shredding) erases the identity.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.db.base import Base, CreatedAt, PortableJSON, StrEnumType, UUIDPrimaryKey
from trustdesk.db.sealed import SealedColumns
from trustdesk.identity.vocabulary import DisclosureStatus, IdentityKind, IdentityStatus


class Identity(UUIDPrimaryKey, CreatedAt, SealedColumns, Base):
    """The identity behind one subject (the provider's account id) of one service."""

    __tablename__ = "identities"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[IdentityStatus] = mapped_column(StrEnumType(IdentityStatus, 16))
    kind: Mapped[IdentityKind] = mapped_column(StrEnumType(IdentityKind, 16))
    document_type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    blind_index: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    updated_at: Mapped[datetime]
    verified_at: Mapped[datetime | None]
    erase_after: Mapped[datetime | None] = mapped_column(index=True)
    erased_at: Mapped[datetime | None]
    log_index: Mapped[int] = mapped_column(BigInteger)
    # What the ciphertext is bound to (see trustdesk.identity.vault): 1 its row and service,
    # 2 also its subject. Rows sealed before 0008 are 1 until `trustdesk vault rotate`.
    seal_version: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="1")

    __table_args__ = (
        UniqueConstraint("service_id", "subject"),
        UniqueConstraint("service_id", "blind_index"),
    )


class DisclosureRequest(UUIDPrimaryKey, CreatedAt, Base):
    """A legal-process request to reveal the identities of named subjects of one service."""

    __tablename__ = "disclosure_requests"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    authority: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(200))
    subjects: Mapped[list[str]] = mapped_column(PortableJSON)
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    requested_by_name: Mapped[str] = mapped_column(String(64))
    approvals_required: Mapped[int] = mapped_column(Integer)
    status: Mapped[DisclosureStatus] = mapped_column(StrEnumType(DisclosureStatus, 16))
    decided_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revealed_at: Mapped[datetime | None]
    log_index: Mapped[int] = mapped_column(BigInteger)
    votes: Mapped[list[DisclosureVote]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="DisclosureVote.created_at"
    )

    __table_args__ = (Index("ix_disclosure_requests_status", "status", "created_at"),)


class DisclosureVote(UUIDPrimaryKey, CreatedAt, Base):
    """One approver's approval or rejection of a disclosure request."""

    __tablename__ = "disclosure_votes"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("disclosure_requests.id", ondelete="CASCADE")
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(64))
    approve: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(500))
    log_index: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("request_id", "user_id"),)
