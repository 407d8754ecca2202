"""Tables of the cases slice.

A case gathers everything about one target (a content item, a URL, or an account) of one
service: the notices about it and the screening verdicts on it. Decisions on a case
produce actions (delivered to the service by webhook or polling), statements of reasons
(to the affected subject), and strikes; appeals against a decision produce new decisions.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.cases.standard_webhooks import Scheme
from trustdesk.db.base import Base, CreatedAt, PortableJSON, StrEnumType, UUIDPrimaryKey
from trustdesk.db.sealed import SealedColumns


class CaseStatus(enum.StrEnum):
    OPEN = "open"  # waiting in the queue
    DECIDED = "decided"  # a decision stands (it may still be appealed)
    APPEALED = "appealed"  # an appeal waits for a senior moderator


class AutomatedDecision(enum.StrEnum):
    FULLY = "fully"
    PARTIALLY = "partially"
    NOT_AUTOMATED = "not_automated"


class ActionStatus(enum.StrEnum):
    PENDING = "pending"  # not delivered yet (or waiting for its next attempt)
    DELIVERED = "delivered"  # the webhook answered 2xx
    ACKNOWLEDGED = "acknowledged"  # the service confirmed it acted
    DEAD = "dead"  # every attempt failed; an operator must look


class AppealStatus(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REVERSED = "reversed"


class TrustedFlagger(UUIDPrimaryKey, CreatedAt, Base):
    """An entity whose notices to one service are marked and put first (DSA art. 22)."""

    __tablename__ = "trusted_flaggers"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None]


class Case(UUIDPrimaryKey, Base):
    __tablename__ = "cases"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    target: Mapped[str] = mapped_column(String(64))  # digest of the target's key
    content_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    subject: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[CaseStatus] = mapped_column(StrEnumType(CaseStatus, 16))
    category: Mapped[str] = mapped_column(String(128))  # "pack:category" of highest severity
    priority: Mapped[int] = mapped_column(Integer)
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    automated_detection: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    claimed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    claim_expires_at: Mapped[datetime | None]
    log_index: Mapped[int] = mapped_column(BigInteger)
    notices: Mapped[list[Notice]] = relationship(lazy="selectin", order_by="Notice.received_at")
    items: Mapped[list[CaseItem]] = relationship(
        lazy="selectin", order_by="CaseItem.created_at", cascade="all, delete-orphan"
    )
    decisions: Mapped[list[Decision]] = relationship(
        lazy="selectin", order_by="Decision.decided_at"
    )

    __table_args__ = (
        Index("ix_cases_service_target", "service_id", "target"),
        Index("ix_cases_queue", "status", "priority", "opened_at"),
        Index("ix_cases_service_subject", "service_id", "subject"),
    )


class CaseItem(UUIDPrimaryKey, CreatedAt, Base):
    """A screening verdict (a stored content item) that joined a case."""

    __tablename__ = "case_items"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("content_items.id", ondelete="CASCADE"), unique=True
    )


class Notice(UUIDPrimaryKey, Base):
    """A report from anyone (DSA art. 16; art. 7 of the notice): where, what, why, who."""

    __tablename__ = "notices"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    received_at: Mapped[datetime]
    content_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    category: Mapped[str] = mapped_column(String(128))
    explanation: Mapped[str] = mapped_column(Text)
    notifier_name: Mapped[str | None] = mapped_column(String(200))
    notifier_email: Mapped[str | None] = mapped_column(String(254))
    good_faith: Mapped[bool] = mapped_column(Boolean)
    trusted_flagger_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("trusted_flaggers.id", ondelete="SET NULL")
    )
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    log_index: Mapped[int] = mapped_column(BigInteger)


class Decision(UUIDPrimaryKey, Base):
    """What was decided on a case, why, by whom or by what, and on which ground."""

    __tablename__ = "decisions"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    puid: Mapped[str] = mapped_column(String(100), unique=True)
    pack_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(128))  # the pack's category id
    citation: Mapped[str] = mapped_column(String(200))  # the pack article relied on
    basis: Mapped[str] = mapped_column(String(8))  # law or terms
    actions: Mapped[list[str]] = mapped_column(PortableJSON)  # action kinds; [] = no action
    suspend_until: Mapped[datetime | None]
    facts: Mapped[str] = mapped_column(Text)
    automated_detection: Mapped[bool] = mapped_column(Boolean)
    automated_decision: Mapped[AutomatedDecision] = mapped_column(
        StrEnumType(AutomatedDecision, 16)
    )
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime]
    content_date: Mapped[datetime]
    appeal_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decisions.id"))
    reversed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decisions.id"))
    time_to_action_ms: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_decisions_service_decided", "service_id", "decided_at"),
        Index("ix_decisions_service_suspend_until", "service_id", "suspend_until"),
    )


class Action(UUIDPrimaryKey, CreatedAt, Base):
    """One thing the service must do, delivered by signed webhook or taken by polling."""

    __tablename__ = "actions"

    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    content_id: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    until: Mapped[datetime | None]
    status: Mapped[ActionStatus] = mapped_column(StrEnumType(ActionStatus, 16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    time_to_delivery_ms: Mapped[int | None] = mapped_column(BigInteger)  # case opened -> delivered
    log_index: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_actions_due", "status", "next_attempt_at"),
        Index("ix_actions_service_status", "service_id", "status"),
    )


class Webhook(SealedColumns, Base):
    """Where a service receives its actions; the signing secret is sealed (it must sign)."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    updated_at: Mapped[datetime]
    # how deliveries are signed: trustdesk's own header, or the Standard Webhooks ones
    scheme: Mapped[Scheme] = mapped_column(
        StrEnumType(Scheme, 24), server_default=Scheme.TRUSTDESK.value
    )


class Statement(UUIDPrimaryKey, CreatedAt, Base):
    """The statement of reasons sent to the affected subject, as rendered."""

    __tablename__ = "statements"

    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    subject: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)


class Strike(UUIDPrimaryKey, CreatedAt, Base):
    """A mark against a subject for a restriction, counted until it expires."""

    __tablename__ = "strikes"

    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_strikes_service_subject", "service_id", "subject"),)


class Appeal(UUIDPrimaryKey, Base):
    """A complaint against a decision (DSA art. 20), by the subject or the notifier."""

    __tablename__ = "appeals"

    decision_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("decisions.id", ondelete="CASCADE"))
    service_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    by: Mapped[str] = mapped_column(String(16))  # subject or notifier
    reason: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime]
    status: Mapped[AppealStatus] = mapped_column(StrEnumType(AppealStatus, 16))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    outcome: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("decisions.id"))
    log_index: Mapped[int] = mapped_column(BigInteger)
