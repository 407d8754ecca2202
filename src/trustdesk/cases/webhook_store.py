"""A service's stored webhook: its URL, its sealed signing secret, and vetting at start.

A service sets one webhook URL (``PUT /v1/webhook``) and receives its signing secret once;
the secret is stored sealed under the key ring (associated data: the service id). Setting,
reading and removing it are logged; :func:`vet_stored_webhooks` names at start every stored
URL the environment's rules now refuse. Delivery itself: :mod:`trustdesk.cases.delivery`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.cases import standard_webhooks
from trustdesk.cases.models import Webhook
from trustdesk.cases.outbound import AddressGuard, HostRefused
from trustdesk.cases.standard_webhooks import Scheme
from trustdesk.cases.webhooks import InvalidWebhookUrl, new_secret, validate_url
from trustdesk.crypto.envelope import seal
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db import sealed as sealed_rows
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import NotFound
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


@dataclass(frozen=True, slots=True)
class WebhookView:
    url: str
    updated_at: datetime
    scheme: Scheme = Scheme.TRUSTDESK


@dataclass(frozen=True, slots=True)
class WebhookSet:
    """A webhook just set, with its new signing secret (shown this once)."""

    url: str
    updated_at: datetime
    secret: str = field(repr=False)
    scheme: Scheme = Scheme.TRUSTDESK


def secret_aad(service_id: uuid.UUID) -> bytes:
    return f"trustdesk:webhook:{service_id}".encode()


def set_webhook(
    session: Session,
    keyring: KeyRing,
    service_id: uuid.UUID,
    url: str,
    *,
    allow_loopback: bool,
    guard: AddressGuard | None = None,
    now: datetime | None = None,
    scheme: Scheme = Scheme.TRUSTDESK,
) -> WebhookSet:
    """Set the service's webhook URL and give it a new signing secret (the old one ends),
    of the form its signing ``scheme`` takes (:mod:`trustdesk.cases.standard_webhooks`).

    With a ``guard`` (the server's), the host name is resolved now and refused unless it
    reaches only addresses the guard allows; it is resolved and vetted again on every attempt.
    """
    url = validate_url(url.strip(), allow_loopback=allow_loopback)
    if guard is not None:
        guard.check_url(url)
    moment = now or utcnow()
    secret = standard_webhooks.new_secret() if scheme is Scheme.STANDARD else new_secret()
    with transaction(session):
        row = session.get(Webhook, service_id, with_for_update=True, populate_existing=True)
        if row is None:
            row = Webhook(id=service_id)
            session.add(row)
        row.url, row.updated_at, row.scheme = url, moment, scheme
        row.store(seal(secret.encode(), keyring, aad=secret_aad(service_id)))
        records.append(
            session,
            EventType.CASES_WEBHOOK_SET,
            service_id=service_id,
            data={"url_digest": leaf.keyed(url), "secret_rotated": True, "scheme": str(scheme)},
            now=moment,
        )
        session.flush()
    return WebhookSet(url, moment, secret, scheme)


def get_webhook(session: Session, service_id: uuid.UUID) -> WebhookView:
    with transaction(session):
        row = session.get(Webhook, service_id, populate_existing=True)
        if row is None:
            raise WebhookNotFound("this service has no webhook; its actions wait for polling")
        return WebhookView(row.url, row.updated_at, row.scheme)


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
