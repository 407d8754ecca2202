"""Tables of the banks slice: banks, their entries (never deleted) and their changes."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.banks.values import BankAction, BankMode, Signal
from trustdesk.db.base import Base, StrEnumType, UUIDPrimaryKey, utcnow

_LIVE = text("removed_at IS NULL")


class Bank(UUIDPrimaryKey, Base):
    """A named list of values of one signal, owned by a service or shared (owner NULL)."""

    __tablename__ = "banks"
    __table_args__ = (
        # One name per owner; shared banks (owner NULL) have a unique name among themselves,
        # enforced by ``shared_name`` (NULLs are distinct in a unique constraint).
        UniqueConstraint("owner_id", "name"),
        Index(
            "ix_banks_shared_name",
            "name",
            unique=True,
            sqlite_where=text("owner_id IS NULL"),
            postgresql_where=text("owner_id IS NULL"),
        ),
    )

    name: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    signal: Mapped[Signal] = mapped_column(StrEnumType(Signal, length=16))
    category: Mapped[str] = mapped_column(String(80))
    action: Mapped[BankAction] = mapped_column(StrEnumType(BankAction, length=8))
    mode: Mapped[BankMode] = mapped_column(StrEnumType(BankMode, length=8))
    threshold: Mapped[int | None] = mapped_column(Integer)
    negative: Mapped[bool] = mapped_column(Boolean)
    enabled: Mapped[bool] = mapped_column(Boolean)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class BankChange(Base):
    """One change to a bank, numbered in commit order (its record-log entry is appended
    first, and the log's lock is held to commit): ``banks_version`` is the highest number."""

    __tablename__ = "bank_changes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bank_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("banks.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(200))
    added: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    digest: Mapped[str | None] = mapped_column(String(64))
    log_index: Mapped[int] = mapped_column(Integer)


class BankEntry(UUIDPrimaryKey, Base):
    """A value a bank held from ``added_at`` until ``removed_at`` (NULL: still holds it).
    Rows are never deleted, so what a bank held at any moment can be read back."""

    __tablename__ = "bank_entries"
    __table_args__ = (
        Index(
            "ix_bank_entries_live",
            "bank_id",
            "digest",
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        ),
        Index("ix_bank_entries_bank_digest", "bank_id", "digest"),  # pages of an export
        Index("ix_bank_entries_added_change", "added_change"),  # changes since a version
        Index("ix_bank_entries_removed_change", "removed_change"),
    )

    bank_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[str] = mapped_column(String(200))
    added_change: Mapped[int] = mapped_column(Integer)
    removed_at: Mapped[datetime | None] = mapped_column()
    removed_by: Mapped[str | None] = mapped_column(String(200))
    removed_change: Mapped[int | None] = mapped_column(Integer)
