"""Getting actions to services by webhook: the delivery worker's transactions.

A service sets one webhook URL (:mod:`trustdesk.cases.webhook_store`). Every pending
action of a service with a webhook is POSTed to it as a signed event
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
Without a webhook, actions wait for polling; listing, acknowledging and re-queueing them
is :mod:`trustdesk.cases.actions`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from trustdesk.cases import standard_webhooks
from trustdesk.cases.actions import ActionView, action_view, action_views, elapsed_ms, log_action
from trustdesk.cases.models import Action, ActionStatus, Webhook
from trustdesk.cases.outbound import Sent
from trustdesk.cases.standard_webhooks import Scheme
from trustdesk.cases.webhook_store import secret_aad
from trustdesk.cases.webhooks import (
    EVENT_ID_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    Backoff,
    signature_header,
)
from trustdesk.crypto.envelope import DecryptionFailed, Sealed, open_sealed
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db.engine import transaction
from trustdesk.records.events import EventType

DEFAULT_MAX_ATTEMPTS = 8
CLAIM_LEASE = timedelta(minutes=5)  # longer than any attempt's deadline (60 s at most)
MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class Retries:
    """How often an action is tried, and how long it waits between attempts."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    backoff: Backoff = field(default_factory=Backoff)


@dataclass(frozen=True, slots=True)
class Claim:
    """One attempt a worker holds: the action, which attempt it is, where to send it."""

    view: ActionView
    attempt: int
    url: str
    sealed: Sealed | None
    scheme: Scheme = Scheme.TRUSTDESK

    @property
    def service_id(self) -> uuid.UUID:
        return self.view.action.service_id


def signed_headers(claim: Claim, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    """An attempt's headers: the event's id (the unit of work, the same on every attempt)
    and a fresh signature in the service's scheme."""
    event_id = str(claim.view.action.id)
    sent = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: event_id}
    if claim.scheme is Scheme.STANDARD:
        return sent | standard_webhooks.headers(secret, event_id, body, timestamp=timestamp)
    return sent | {
        EVENT_ID_HEADER: event_id,
        SIGNATURE_HEADER: signature_header(secret, body, timestamp=timestamp),
    }


def _swap(session: Session, action_id: uuid.UUID, attempts: int, /, **values: Any) -> bool:
    """Set ``values`` on the action if it is still pending at ``attempts`` (compare-and-set)."""
    done = session.execute(
        update(Action)
        .where(
            Action.id == action_id,
            Action.status == ActionStatus.PENDING,
            Action.attempts == attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _mark_dead(
    session: Session, view: ActionView, attempts: int, error: str, moment: datetime
) -> bool:
    if not _swap(
        session,
        view.action.id,
        attempts,
        status=ActionStatus.DEAD,
        next_attempt_at=None,
        last_error=error[:MAX_ERROR],
    ):
        return False
    log_action(
        session,
        EventType.CASES_ACTION_DEAD,
        view.action,
        moment,
        attempts=attempts,
        error=error[:200],
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
        view = action_view(session.execute(action_views().where(Action.id == row.id)).one())
        if row.attempts >= max_attempts:  # a worker died during the last attempt
            _mark_dead(session, view, row.attempts, "no outcome of the last attempt", moment)
            return False
        lease = moment + CLAIM_LEASE
        if not _swap(
            session, row.id, row.attempts, attempts=row.attempts + 1, next_attempt_at=lease
        ):
            return False  # another worker claimed it first
        webhook = session.get(Webhook, service_id)
        if webhook is None:
            return False
        return Claim(view, row.attempts + 1, row.url, webhook.sealed(), webhook.scheme)


def record_outcome(
    session: Session,
    claim: Claim,
    sent: Sent,
    moment: datetime,
    retries: Retries,
) -> ActionStatus | None:
    """Store an attempt's outcome if the claim still holds; the action's new status.

    ``sent.error`` None: delivered. Otherwise the action waits for its next attempt, or goes
    dead after the last one or at once when ``sent.final`` (retrying cannot help: a refused
    URL).
    """
    action, error = claim.view.action, sent.error
    with transaction(session):
        if error is None:
            ms = elapsed_ms(claim.view.case_opened_at, moment)
            if not _swap(
                session,
                action.id,
                claim.attempt,
                status=ActionStatus.DELIVERED,
                delivered_at=moment,
                next_attempt_at=None,
                last_error=None,
                time_to_delivery_ms=ms,
            ):
                return None
            log_action(
                session,
                EventType.CASES_ACTION_DELIVERED,
                action,
                moment,
                attempts=claim.attempt,
                time_to_delivery_ms=ms,
            )
            return ActionStatus.DELIVERED
        if sent.final or claim.attempt >= retries.max_attempts:
            dead = _mark_dead(session, claim.view, claim.attempt, error, moment)
            return ActionStatus.DEAD if dead else None
        retry_at = moment + timedelta(seconds=retries.backoff.delay(claim.attempt))
        waits = _swap(
            session,
            action.id,
            claim.attempt,
            next_attempt_at=retry_at,
            last_error=error[:MAX_ERROR],
        )
        return ActionStatus.PENDING if waits else None


def open_secret(claim: Claim, keyring: KeyRing) -> str | None:
    """The webhook's signing secret, or None if it cannot be opened (set it again)."""
    if claim.sealed is None:
        return None
    try:
        return open_sealed(claim.sealed, keyring, aad=secret_aad(claim.service_id)).decode()
    except DecryptionFailed:
        return None
