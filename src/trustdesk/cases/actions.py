"""Actions as services see them: listing, acknowledging, an operator's re-queue, timings.

An :class:`ActionView` is an action with what its event carries of the decision and the
case. A polling service lists its pending actions (``GET /v1/actions?status=pending``);
either way the service confirms with ``POST /v1/actions/{id}/ack``, and for a polling
service that is also the moment of delivery. A dead action (see
:mod:`trustdesk.cases.delivery`) is given fresh attempts by an operator's :func:`requeue`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from trustdesk.cases.models import Action, ActionStatus, Case, Decision
from trustdesk.cases.service import category_key
from trustdesk.cases.webhooks import EVENT_TYPE
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, NotFound
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType


class ActionNotFound(NotFound):
    code = "action_not_found"


class ActionNotDead(Conflict):
    code = "action_not_dead"
    title = "Action not dead"


@dataclass(frozen=True, slots=True)
class ActionView:
    """An action with what its event carries of the decision and the case."""

    action: Action
    puid: str
    category: str  # "pack:category"
    appeal_of: uuid.UUID | None
    case_id: uuid.UUID
    case_opened_at: datetime

    def event(self) -> dict[str, Any]:
        """The ``action.issued`` event, as POSTed to the webhook and shown to pollers."""
        action = self.action
        return {
            "id": str(action.id),
            "idempotency_key": str(action.id),
            "type": EVENT_TYPE,
            "created_at": action.created_at.isoformat(),
            "service_id": str(action.service_id),
            "action": {
                "id": str(action.id),
                "kind": action.kind,
                "content_id": action.content_id,
                "subject": action.subject,
                "until": action.until.isoformat() if action.until else None,
            },
            "decision": {
                "id": str(action.decision_id),
                "puid": self.puid,
                "category": self.category,
                "appeal_of": str(self.appeal_of) if self.appeal_of else None,
            },
        }


def elapsed_ms(start: datetime, end: datetime) -> int:
    """Whole milliseconds from ``start`` to ``end`` (never negative)."""
    return max(0, int((end - start).total_seconds() * 1000))


def action_views() -> Any:
    return (
        select(
            Action,
            Decision.puid,
            Decision.pack_id,
            Decision.category,
            Decision.appeal_of,
            Case.id,
            Case.opened_at,
        )
        .join(Decision, Decision.id == Action.decision_id)
        .join(Case, Case.id == Decision.case_id)
    )


def action_view(row: Any) -> ActionView:
    action, puid, pack_id, category, appeal_of, case_id, opened_at = row
    return ActionView(action, puid, category_key(pack_id, category), appeal_of, case_id, opened_at)


def list_actions(
    session: Session,
    *,
    service_id: uuid.UUID | None,
    status: ActionStatus | None = None,
    limit: int = 100,
    after: uuid.UUID | None = None,
) -> list[ActionView]:
    """Actions oldest first, of one service (None: all, for operators), ``limit`` at a time.

    ``after`` is the id of the last action of the previous page.
    """
    query = action_views().order_by(Action.created_at, Action.id).limit(limit)
    if service_id is not None:
        query = query.where(Action.service_id == service_id)
    if status is not None:
        query = query.where(Action.status == status)
    with transaction(session):
        if after is not None:
            cursor = session.execute(
                select(Action.created_at, Action.service_id).where(Action.id == after)
            ).first()
            if cursor is None or (service_id is not None and cursor.service_id != service_id):
                raise ActionNotFound(f"no action {after} to page after")
            query = query.where(
                or_(
                    Action.created_at > cursor.created_at,
                    and_(Action.created_at == cursor.created_at, Action.id > after),
                )
            )
        return [
            action_view(row)
            for row in session.execute(query.execution_options(populate_existing=True))
        ]


def case_actions(session: Session, case_id: uuid.UUID) -> list[ActionView]:
    """Every action decided on ``case_id`` (appeals' included), oldest first."""
    query = action_views().where(Case.id == case_id).order_by(Action.created_at, Action.id)
    with transaction(session):
        return [
            action_view(row)
            for row in session.execute(query.execution_options(populate_existing=True))
        ]


def log_action(
    session: Session, event: EventType, action: Action, moment: datetime, **data: object
) -> None:
    """Append ``event`` about ``action`` to the record log: the action's id, then ``data``."""
    records.append(
        session,
        event,
        service_id=action.service_id,
        data={"action_id": str(action.id), **data},
        now=moment,
    )


def _locked_view(session: Session, action_id: uuid.UUID) -> ActionView | None:
    row = session.execute(
        action_views()
        .where(Action.id == action_id)
        .with_for_update(of=Action)
        .execution_options(populate_existing=True)
    ).first()
    return action_view(row) if row is not None else None


def acknowledge(
    session: Session, service_id: uuid.UUID, action_id: uuid.UUID, *, now: datetime | None = None
) -> ActionView:
    """The service confirms it acted (idempotent); another service's action is not found."""
    moment = now or utcnow()
    with transaction(session):
        view = _locked_view(session, action_id)
        if view is None or view.action.service_id != service_id:
            raise ActionNotFound(f"no action {action_id}")
        action = view.action
        if action.status is ActionStatus.ACKNOWLEDGED:
            return view
        polled = action.delivered_at is None
        if polled:  # taken by polling: the acknowledgement is the moment of delivery
            action.delivered_at = moment
            action.time_to_delivery_ms = elapsed_ms(view.case_opened_at, moment)
        action.status, action.acknowledged_at = ActionStatus.ACKNOWLEDGED, moment
        action.next_attempt_at = None
        log_action(
            session,
            EventType.CASES_ACTION_ACKNOWLEDGED,
            action,
            moment,
            polled=polled,
            time_to_delivery_ms=action.time_to_delivery_ms,
        )
        session.flush()
        return view


def requeue(
    session: Session, action_id: uuid.UUID, *, by: str, now: datetime | None = None
) -> ActionView:
    """Give a dead action a fresh set of attempts, due at once (an operator's retry, logged)."""
    moment = now or utcnow()
    with transaction(session):
        view = _locked_view(session, action_id)
        if view is None:
            raise ActionNotFound(f"no action {action_id}")
        action = view.action
        if action.status is not ActionStatus.DEAD:
            raise ActionNotDead(f"action {action_id} is {action.status}; only dead ones retry")
        action.status, action.attempts, action.next_attempt_at = ActionStatus.PENDING, 0, moment
        log_action(
            session, EventType.CASES_ACTION_REQUEUED, action, moment, by_digest=leaf.keyed(by)
        )
        session.flush()
        return view


@dataclass(frozen=True, slots=True)
class DeliveryTime:
    action_id: uuid.UUID
    kind: str
    opened_at: datetime
    delivered_at: datetime | None
    time_to_delivery_ms: int | None


def delivery_times(session: Session, case_id: uuid.UUID) -> list[DeliveryTime]:
    """For each action of a case: from the notice or screening that opened it to delivery."""
    query = action_views().where(Case.id == case_id).order_by(Action.created_at, Action.id)
    with transaction(session):
        views = [action_view(row) for row in session.execute(query)]
    return [
        DeliveryTime(
            v.action.id,
            v.action.kind,
            v.case_opened_at,
            v.action.delivered_at,
            v.action.time_to_delivery_ms,
        )
        for v in views
    ]
