"""Getting actions to services: the webhook, the worker's transactions, polling, acks.

A service sets one webhook URL (``PUT /v1/webhook``) and receives its signing secret once;
the secret is stored sealed under the key ring (associated data: the service id). Every
pending action of a service with a webhook is POSTed to it as a signed event
(:mod:`trustdesk.cases.webhooks` documents the scheme) by the worker in
:mod:`trustdesk.cases.dispatch`, which the server runs continuously (looking every
``TRUSTDESK_DELIVERY_INTERVAL_SECONDS``) and ``trustdesk actions deliver`` runs once; it
sends through :mod:`trustdesk.cases.outbound` (hosts vetted, a hard deadline per attempt).

The worker claims a due action (:func:`claim_next`) by compare-and-set on
``(status, attempts)`` (and, on PostgreSQL, ``FOR UPDATE SKIP LOCKED``), pushing its next
attempt past a lease, and commits before sending; the outcome is recorded
(:func:`record_outcome`) by a second compare-and-set on the attempt it claimed. Two workers
therefore never send the same attempt, and an outcome arriving after the service
acknowledged (or after another worker took over a lapsed lease) changes nothing. A worker
that dies mid-send leaves the action due again when the lease ends: delivery is at least
once, and the event id is the receiver's idempotency key.

A 2xx answer marks the action ``delivered`` (and records the time from the case's opening
to delivery); anything else is retried with exponential backoff until ``max_attempts``,
when the action goes ``dead`` for an operator (``trustdesk actions list --status dead``,
``trustdesk actions retry``); a URL the environment's rules refuse goes dead at once.
Without a webhook, actions wait for polling (``GET /v1/actions?status=pending``). Either
way the service confirms with ``POST /v1/actions/{id}/ack``; for a polling service that
is also the moment of delivery.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from trustdesk.cases.models import Action, ActionStatus, Case, Decision, Webhook
from trustdesk.cases.outbound import AddressGuard, HostRefused
from trustdesk.cases.webhooks import (
    EVENT_TYPE,
    Backoff,
    InvalidWebhookUrl,
    new_secret,
    validate_url,
)
from trustdesk.crypto.envelope import DecryptionFailed, Sealed, open_sealed, seal
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db import sealed as sealed_rows
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, NotFound
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType

DEFAULT_MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=5)  # longer than any attempt's deadline (60 s at most)
MAX_ERROR = 500


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


class ActionNotFound(NotFound):
    code = "action_not_found"


class ActionNotDead(Conflict):
    code = "action_not_dead"
    title = "Action not dead"


@dataclass(frozen=True, slots=True)
class WebhookView:
    url: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookSet:
    """A webhook just set, with its new signing secret (shown this once)."""

    url: str
    updated_at: datetime
    secret: str = field(repr=False)


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


def _aad(service_id: uuid.UUID) -> bytes:
    return f"trustdesk:webhook:{service_id}".encode()


def elapsed_ms(start: datetime, end: datetime) -> int:
    """Whole milliseconds from ``start`` to ``end`` (never negative)."""
    return max(0, int((end - start).total_seconds() * 1000))


# --- the webhook ------------------------------------------------------------------------


def set_webhook(
    session: Session,
    keyring: KeyRing,
    service_id: uuid.UUID,
    url: str,
    *,
    allow_loopback: bool,
    guard: AddressGuard | None = None,
    now: datetime | None = None,
) -> WebhookSet:
    """Set the service's webhook URL and give it a new signing secret (the old one ends).

    With a ``guard`` (the server's), the host name is resolved now and refused unless it
    reaches only addresses the guard allows; it is resolved and vetted again on every attempt.
    """
    url = validate_url(url.strip(), allow_loopback=allow_loopback)
    if guard is not None:
        guard.check_url(url)
    moment = now or utcnow()
    secret = new_secret()
    with transaction(session):
        row = session.get(Webhook, service_id, with_for_update=True, populate_existing=True)
        if row is None:
            row = Webhook(id=service_id)
            session.add(row)
        row.url, row.updated_at = url, moment
        row.store(seal(secret.encode(), keyring, aad=_aad(service_id)))
        records.append(
            session,
            EventType.CASES_WEBHOOK_SET,
            service_id=service_id,
            data={"url_digest": leaf.keyed(url), "secret_rotated": True},
            now=moment,
        )
        session.flush()
    return WebhookSet(url, moment, secret)


def get_webhook(session: Session, service_id: uuid.UUID) -> WebhookView:
    with transaction(session):
        row = session.get(Webhook, service_id, populate_existing=True)
        if row is None:
            raise WebhookNotFound("this service has no webhook; its actions wait for polling")
        return WebhookView(row.url, row.updated_at)


def remove_webhook(session: Session, service_id: uuid.UUID, *, now: datetime | None = None) -> None:
    """Stop delivery (the secret is destroyed); actions then wait for polling."""
    moment = now or utcnow()
    with transaction(session):
        row = session.get(Webhook, service_id, with_for_update=True)
        if row is None:
            raise WebhookNotFound("this service has no webhook")
        session.delete(row)
        records.append(
            session,
            EventType.CASES_WEBHOOK_SET,
            service_id=service_id,
            data={"url_digest": None, "secret_rotated": False},
            now=moment,
        )
        session.flush()


def key_usage(session: Session) -> dict[str, int]:
    """How many webhook secrets each KEK wraps (for ``trustdesk vault status``/``retire``)."""
    return sealed_rows.key_usage(session, Webhook)


def rewrap(session: Session, keyring: KeyRing, progress: sealed_rows.Progress | None = None) -> int:
    """Move every webhook secret's data key to the current KEK (``trustdesk vault rotate``)."""
    return sealed_rows.rewrap_table(session, Webhook, keyring, progress)


# --- reading, acknowledging and re-queueing actions -------------------------------------


def _views() -> Any:
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


def _view(row: Any) -> ActionView:
    action, puid, pack_id, category, appeal_of, case_id, opened_at = row
    return ActionView(action, puid, f"{pack_id}:{category}", appeal_of, case_id, opened_at)


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
    query = _views().order_by(Action.created_at, Action.id).limit(limit)
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
            _view(row) for row in session.execute(query.execution_options(populate_existing=True))
        ]


def case_actions(session: Session, case_id: uuid.UUID) -> list[ActionView]:
    """Every action decided on ``case_id`` (appeals' included), oldest first."""
    query = _views().where(Case.id == case_id).order_by(Action.created_at, Action.id)
    with transaction(session):
        return [
            _view(row) for row in session.execute(query.execution_options(populate_existing=True))
        ]


def _locked_view(session: Session, action_id: uuid.UUID) -> ActionView | None:
    row = session.execute(
        _views()
        .where(Action.id == action_id)
        .with_for_update(of=Action)
        .execution_options(populate_existing=True)
    ).first()
    return _view(row) if row is not None else None


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
        records.append(
            session,
            EventType.CASES_ACTION_ACKNOWLEDGED,
            service_id=service_id,
            data={
                "action_id": str(action.id),
                "polled": polled,
                "time_to_delivery_ms": action.time_to_delivery_ms,
            },
            now=moment,
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
        records.append(
            session,
            EventType.CASES_ACTION_REQUEUED,
            service_id=action.service_id,
            data={"action_id": str(action.id), "by_digest": leaf.keyed(by)},
            now=moment,
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
    query = _views().where(Case.id == case_id).order_by(Action.created_at, Action.id)
    with transaction(session):
        views = [_view(row) for row in session.execute(query)]
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


# --- the worker's transactions (the worker itself: trustdesk.cases.dispatch) -------------


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt a worker holds: the action, which attempt it is, where to send it."""

    view: ActionView
    attempt: int
    url: str
    sealed: Sealed | None

    @property
    def service_id(self) -> uuid.UUID:
        return self.view.action.service_id


def _cas(action_id: uuid.UUID, attempts: int) -> Any:
    return update(Action).where(
        Action.id == action_id,
        Action.status == ActionStatus.PENDING,
        Action.attempts == attempts,
    )


def _mark_dead(
    session: Session, view: ActionView, attempts: int, error: str, moment: datetime
) -> bool:
    done = session.execute(
        _cas(view.action.id, attempts)
        .values(status=ActionStatus.DEAD, next_attempt_at=None, last_error=error[:MAX_ERROR])
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return False
    records.append(
        session,
        EventType.CASES_ACTION_DEAD,
        service_id=view.action.service_id,
        data={"action_id": str(view.action.id), "attempts": attempts, "error": error[:200]},
        now=moment,
    )
    return True


def due_services(
    session: Session, moment: datetime, exclude: Collection[uuid.UUID], limit: int = 1000
) -> list[tuple[uuid.UUID, datetime]]:
    """Services with a webhook and actions due at ``moment``, each with its most overdue."""
    oldest = func.min(Action.next_attempt_at)
    query = (
        select(Action.service_id, oldest)
        .join(Webhook, Webhook.id == Action.service_id)
        .where(Action.status == ActionStatus.PENDING, Action.next_attempt_at <= moment)
        .group_by(Action.service_id)
        .order_by(oldest)
        .limit(limit)
    )
    if exclude:
        query = query.where(Action.service_id.not_in(list(exclude)))
    with transaction(session):
        return [(row[0], row[1]) for row in session.execute(query) if row[1] is not None]


def claim_next(
    session: Session, moment: datetime, service_id: uuid.UUID, max_attempts: int
) -> Claim | Literal[False] | None:
    """Claim the service's most overdue action: None if none is due, False if it went away.

    The claim pushes the action's next attempt past :data:`CLAIM_LEASE` and commits, so the
    attempt is made with no transaction open; an action whose attempts ran out while its
    worker died goes dead here instead.
    """
    query = (
        select(Action.id, Action.attempts, Webhook.url)
        .join(Webhook, Webhook.id == Action.service_id)
        .where(
            Action.service_id == service_id,
            Action.status == ActionStatus.PENDING,
            Action.next_attempt_at <= moment,
        )
        .order_by(Action.next_attempt_at, Action.id)
        .limit(1)
        .with_for_update(of=Action, skip_locked=True)
    )
    with transaction(session):
        row = session.execute(query).first()
        if row is None:
            return None
        view = _view(session.execute(_views().where(Action.id == row.id)).one())
        if row.attempts >= max_attempts:  # a worker died during the last attempt
            _mark_dead(session, view, row.attempts, "no outcome of the last attempt", moment)
            return False
        claimed = session.execute(
            _cas(row.id, row.attempts)
            .values(attempts=row.attempts + 1, next_attempt_at=moment + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False  # another worker claimed it first
        webhook = session.get(Webhook, service_id)
        if webhook is None:
            return False
        return Claim(view, row.attempts + 1, row.url, webhook.sealed())


def record_outcome(
    session: Session,
    claim: Claim,
    error: str | None,
    moment: datetime,
    *,
    max_attempts: int,
    backoff: Backoff,
    final: bool = False,
) -> ActionStatus | None:
    """Store an attempt's outcome if the claim still holds; the action's new status.

    ``error`` None: delivered. Otherwise the action waits for its next attempt, or goes dead
    after the last one or at once when ``final`` (retrying cannot help: a refused URL).
    """
    action = claim.view.action
    with transaction(session):
        if error is None:
            ms = elapsed_ms(claim.view.case_opened_at, moment)
            done = session.execute(
                _cas(action.id, claim.attempt)
                .values(
                    status=ActionStatus.DELIVERED,
                    delivered_at=moment,
                    next_attempt_at=None,
                    last_error=None,
                    time_to_delivery_ms=ms,
                )
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:  # type: ignore[attr-defined]
                return None
            records.append(
                session,
                EventType.CASES_ACTION_DELIVERED,
                service_id=action.service_id,
                data={
                    "action_id": str(action.id),
                    "attempts": claim.attempt,
                    "time_to_delivery_ms": ms,
                },
                now=moment,
            )
            return ActionStatus.DELIVERED
        if final or claim.attempt >= max_attempts:
            dead = _mark_dead(session, claim.view, claim.attempt, error, moment)
            return ActionStatus.DEAD if dead else None
        retry_at = moment + timedelta(seconds=backoff.delay(claim.attempt))
        done = session.execute(
            _cas(action.id, claim.attempt)
            .values(next_attempt_at=retry_at, last_error=error[:MAX_ERROR])
            .execution_options(synchronize_session=False)
        )
        return ActionStatus.PENDING if done.rowcount == 1 else None  # type: ignore[attr-defined]


def open_secret(claim: Claim, keyring: KeyRing) -> str | None:
    """The webhook's signing secret, or None if it cannot be opened (set it again)."""
    if claim.sealed is None:
        return None
    try:
        return open_sealed(claim.sealed, keyring, aad=_aad(claim.service_id)).decode()
    except DecryptionFailed:
        return None


@dataclass(frozen=True, slots=True)
class StoredRefusal:
    """A stored webhook that the current rules refuse (see :func:`vet_stored_webhooks`)."""

    service_id: uuid.UUID
    reason: str  # for the operator: names the address


def vet_stored_webhooks(session: Session, guard: AddressGuard) -> list[StoredRefusal]:
    """Every stored webhook URL the rules of this environment refuse (run at start).

    A URL set under other rules (in development, or before its name moved) is refused here
    as it is on every attempt, where its actions go dead saying why.
    """
    with transaction(session):
        rows = list(session.execute(select(Webhook.id, Webhook.url).order_by(Webhook.id)))
    refused = []
    for service_id, url in rows:
        try:
            validate_url(url, allow_loopback=guard.allow_internal)
            guard.check_url(url)
        except HostRefused as exc:
            refused.append(StoredRefusal(service_id, exc.detail))
        except InvalidWebhookUrl as exc:
            refused.append(StoredRefusal(service_id, exc.message))
    return refused
