"""Actions and the ``action.issued`` event that carries each (by webhook or by polling)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trustdesk_client._fields import Json, integer, moment, obj, opt_moment, opt_text, text

ACTION_ISSUED = "action.issued"


@dataclass(frozen=True, slots=True)
class ActionDetail:
    """What to do: ``kind`` is ``stop_dissemination``, ``delete``, ``suspend_updates``,
    ``close_account`` or ``restore``; ``until`` ends a time-limited action."""

    id: str
    kind: str
    content_id: str | None
    subject: str | None
    until: datetime | None

    @classmethod
    def from_json(cls, data: Json) -> ActionDetail:
        return cls(
            id=text(data, "id"),
            kind=text(data, "kind"),
            content_id=opt_text(data, "content_id"),
            subject=opt_text(data, "subject"),
            until=opt_moment(data, "until"),
        )


@dataclass(frozen=True, slots=True)
class DecisionRef:
    """The decision an action carries out (``category`` as ``pack:category``)."""

    id: str
    puid: str
    category: str
    appeal_of: str | None

    @classmethod
    def from_json(cls, data: Json) -> DecisionRef:
        return cls(
            id=text(data, "id"),
            puid=text(data, "puid"),
            category=text(data, "category"),
            appeal_of=opt_text(data, "appeal_of"),
        )


@dataclass(frozen=True, slots=True)
class ActionEvent:
    """The ``action.issued`` event. Handle each ``idempotency_key`` at most once: a retry
    resends the same event."""

    id: str
    idempotency_key: str
    type: str
    created_at: datetime
    service_id: str
    action: ActionDetail
    decision: DecisionRef

    @classmethod
    def from_json(cls, data: Json) -> ActionEvent:
        kind = text(data, "type")
        if kind != ACTION_ISSUED:
            raise ValueError(f"not an {ACTION_ISSUED} event: {kind!r}")
        return cls(
            id=text(data, "id"),
            idempotency_key=text(data, "idempotency_key"),
            type=kind,
            created_at=moment(data, "created_at"),
            service_id=text(data, "service_id"),
            action=ActionDetail.from_json(obj(data, "action")),
            decision=DecisionRef.from_json(obj(data, "decision")),
        )


@dataclass(frozen=True, slots=True)
class Action:
    """An action with its delivery state (``pending``, ``delivered``, ``acknowledged`` or
    ``dead``), and in ``event`` the event a webhook carries."""

    id: str
    service_id: str
    kind: str
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    time_to_delivery_ms: int | None
    event: ActionEvent
    raw_event: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Json) -> Action:
        delay = data.get("time_to_delivery_ms")
        event = obj(data, "event")
        return cls(
            id=text(data, "id"),
            service_id=text(data, "service_id"),
            kind=text(data, "kind"),
            status=text(data, "status"),
            attempts=integer(data, "attempts"),
            created_at=moment(data, "created_at"),
            delivered_at=opt_moment(data, "delivered_at"),
            acknowledged_at=opt_moment(data, "acknowledged_at"),
            next_attempt_at=opt_moment(data, "next_attempt_at"),
            last_error=opt_text(data, "last_error"),
            time_to_delivery_ms=None if delay is None else integer(data, "time_to_delivery_ms"),
            event=ActionEvent.from_json(event),
            raw_event=event,
        )
