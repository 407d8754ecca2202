"""Tables of the records slice: the log (entries, subtree hashes, checkpoints) and evidence.

Rows here are written once and never updated or deleted; ``trustdesk log verify`` finds
any that were.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.db.base import Base, UUIDPrimaryKey
from trustdesk.db.sealed import SealedColumns


class LogEntry(Base):
    """One leaf of the log: the canonical JSON of an event, and its RFC 9162 leaf hash."""

    __tablename__ = "log_entries"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(64))
    service_id: Mapped[uuid.UUID | None]
    recorded_at: Mapped[datetime]
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (Index("ix_log_entries_service_type", "service_id", "type"),)


class LogNode(Base):
    """The hash of a perfect subtree: leaves ``[index * 2**level, (index + 1) * 2**level)``.

    Stored as each subtree completes, so any proof needs only O(log n) of these.
    """

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogCheckpoint(Base):
    """A signed tree head in the C2SP checkpoint format."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signed_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text)


class Evidence(UUIDPrimaryKey, SealedColumns, Base):
    """A preserved copy of a content item and its context, encrypted under its own data key.

    The plaintext never reaches the database: ``ciphertext`` is AES-256-GCM under a data key
    that is stored only wrapped by a key-encryption key (``kek_id``) of the key ring.
    ``digest`` (SHA-256 of the plaintext package) is also in the record log, where it stays
    after the evidence itself is purged.
    """

    __tablename__ = "evidence"

    service_id: Mapped[uuid.UUID] = mapped_column(index=True)
    content_ref: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(200))
    captured_at: Mapped[datetime]
    retain_until: Mapped[datetime] = mapped_column(index=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    size: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(BigInteger)
    purged_at: Mapped[datetime | None]


class LegalHold(UUIDPrimaryKey, Base):
    """A hold that keeps evidence past its retention until someone releases it."""

    __tablename__ = "legal_holds"

    evidence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("evidence.id", ondelete="RESTRICT"), index=True
    )
    reason: Mapped[str] = mapped_column(String(1000))
    placed_by: Mapped[str] = mapped_column(String(200))
    placed_at: Mapped[datetime]
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None]
