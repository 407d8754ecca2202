"""Tables of the screening slice: rule-set versions, deployments, held content, counters."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.db.base import Base, CreatedAt, PortableJSON, StrEnumType, UUIDPrimaryKey
from trustdesk.screening.rules import Action, Mode
from trustdesk.signals.contract import TEXT_TERMS


class RuleSetVersion(Base):
    """An immutable compiled-from source: the digest of its files names it."""

    __tablename__ = "ruleset_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime]
    archive: Mapped[bytes] = mapped_column(LargeBinary)  # the source files, as a zip
    rules: Mapped[int] = mapped_column(Integer)
    terms: Mapped[int] = mapped_column(BigInteger)
    patterns: Mapped[int] = mapped_column(Integer)


class RuleSetDeployment(UUIDPrimaryKey, Base):
    """A service switching to a rule-set version; the newest deployment is the active one."""

    __tablename__ = "ruleset_deployments"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(ForeignKey("ruleset_versions.version"))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_ruleset_deployments_service_sequence", "service_id", "sequence", unique=True),
    )


class ContentItem(UUIDPrimaryKey, CreatedAt, Base):
    """Content that screening held, blocked or matched in shadow: kept for review.

    Allowed content without shadow hits is never stored, only counted.
    """

    __tablename__ = "content_items"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    content_id: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(8))
    ruleset: Mapped[str] = mapped_column(String(64))
    log_index: Mapped[int] = mapped_column(BigInteger)
    # At most the screener's cap of findings is stored; every rule's matches are counted.
    findings_truncated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    rule_counts: Mapped[list[dict[str, Any]] | None] = mapped_column(PortableJSON)
    findings: Mapped[list[ContentFinding]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ContentFinding.start"
    )

    __table_args__ = (
        Index("ix_content_items_service_content", "service_id", "content_id"),
        # a rescan reads a service's items in (created_at, id) order, a page at a time
        Index("ix_content_items_service_created", "service_id", "created_at", "id"),
    )


class ContentFinding(UUIDPrimaryKey, Base):
    """One rule (or bank) matching one span of a stored content item: ``signal`` says which
    signal matched, and for a bank's finding ``bank_id``, ``entry_id`` and ``distance``
    say what (no foreign key: a finding keeps where it came from whatever the bank became).
    Rows stored before signals read as ``text.terms``."""

    __tablename__ = "content_findings"

    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(80))  # (bank:<a 64-character bank name>)
    category: Mapped[str] = mapped_column(String(128))
    action: Mapped[Action] = mapped_column(StrEnumType(Action, 8))
    mode: Mapped[Mode] = mapped_column(StrEnumType(Mode, 8))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    signal: Mapped[str] = mapped_column(String(16), default=TEXT_TERMS, server_default=TEXT_TERMS)
    bank_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    entry_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)
    distance: Mapped[int | None] = mapped_column(Integer, default=None)

    # Shadow findings are few among many: shadow_results finds them by mode.
    __table_args__ = (Index("ix_content_findings_mode_item", "mode", "item_id"),)


class ScreeningCount(Base):
    """How many items a service screened per day and verdict (allowed items end here)."""

    __tablename__ = "screening_counts"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    verdict: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class RuleSetUpload(UUIDPrimaryKey, Base):
    """A rule-set upload a service sent to deploy (deployed or refused): the deploys-per-hour
    quota counts these, so a refused upload (which also cost a compile) counts too."""

    __tablename__ = "ruleset_uploads"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    uploaded_at: Mapped[datetime]
    bytes: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_ruleset_uploads_service_at", "service_id", "uploaded_at"),)


class Rescan(UUIDPrimaryKey, Base):
    """A rescan of a service's stored content with a rule set, and how far it went.

    ``until`` (its start) bounds the items it reads, so what it stores itself is never read
    again; ``cursor_at``/``cursor_id``: the last item whose verdict ``report`` counts (the
    cursor and the report are written together, so a resumed rescan counts nothing twice).
    """

    __tablename__ = "rescans"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    ruleset: Mapped[str] = mapped_column(String(64))
    since: Mapped[datetime]
    until: Mapped[datetime]
    apply: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16))
    cursor_at: Mapped[datetime | None]
    cursor_id: Mapped[uuid.UUID | None]
    report: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_rescans_service_ruleset", "service_id", "ruleset"),)


class ScreeningFollowUp(Base):
    """A stored verdict whose follow-up is still to do: its count, its log entry and its
    case (:mod:`trustdesk.screening.outbox`). Written with the item in one short
    transaction before the verdict is answered; deleted by the drainer that follows it up.
    A follow-up that keeps failing is parked (``parked_at``) with its error, never retried
    again, so it cannot hold up the others. ``service_id`` is the item's, kept here so that
    a drain takes the services in turn and counts each one's backlog without a join."""

    __tablename__ = "screening_outbox"

    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[uuid.UUID]  # the item's: drains take services in turn, see outbox
    created_at: Mapped[datetime]
    context: Mapped[dict[str, Any]] = mapped_column(PortableJSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    parked_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_screening_outbox_parked_created", "parked_at", "created_at"),
        Index("ix_screening_outbox_parked_service", "parked_at", "service_id", "created_at"),
    )
