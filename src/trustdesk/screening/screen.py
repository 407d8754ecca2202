"""The screen use case: one content item through the publishing gate, the service's active
rule set and, if anything matched, the store (one short transaction; the record log and
review follow from the screening outbox).

Anything that screens an item for a service (and stores what it must) calls :func:`screen`.
The HTTP door takes it in its two halves: :func:`judge` on its event loop, with the gate's
answer and the screener it remembers, and :func:`keep` on a worker thread for an item that
must be stored (:func:`keep_many` for a batch's, in one transaction).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from trustdesk.banks.indexes import BankIndexes
from trustdesk.db.engine import transaction
from trustdesk.screening import service
from trustdesk.screening.bank_findings import bank_findings, merged
from trustdesk.screening.engine import Screener, Screening, Verdict
from trustdesk.screening.runtime import ScreenerRegistry
from trustdesk.screening.tally import Tally


@dataclass(frozen=True, slots=True)
class ScreenCall:
    """What a service asks: screen ``item``; ``context`` goes to review with a stored item."""

    service_id: uuid.UUID
    item: service.ContentIn
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScreenOutcome:
    """The answer to a :class:`ScreenCall`.

    ``screening``: the verdict and findings (None: the service has no active rule set, so
    the item is allowed); ``item_id``: where the item was stored (held, blocked or matched);
    ``gated``: refused by the publishing gate before any rule ran (nothing stored).
    """

    screening: Screening | None
    item_id: uuid.UUID | None = None
    gated: bool = False


def screen(
    session: Session,
    call: ScreenCall,
    *,
    gate: service.PublishGate,
    screeners: ScreenerRegistry,
    max_findings: int,
    tally: Tally | None = None,
    banks: BankIndexes | None = None,
) -> ScreenOutcome:
    """Screen ``call.item`` for its service: a subject the gate refuses is blocked (and only
    counted); otherwise the service's active rule set decides, and the verdict is counted
    (in ``tally`` if given, see :func:`service.count`), or stored with its follow-up if
    anything matched."""
    allowed = gate(session, call.service_id, call.item.subject)
    screener = screeners.for_service(session, call.service_id) if allowed else None
    outcome = judge(
        call.item,
        allowed=allowed,
        screener=screener,
        max_findings=max_findings,
        banks=banks,
        service_id=call.service_id,
    )
    return keep(session, call, outcome, tally=tally)


def judge(
    item: service.ContentIn,
    *,
    allowed: bool,
    screener: Screener | None,
    max_findings: int,
    banks: BankIndexes | None = None,
    service_id: uuid.UUID | None = None,
) -> ScreenOutcome:
    """The verdict on ``item``, nothing counted or stored yet: blocked if the publishing gate
    refused its subject (``allowed`` False), else ``screener``'s (None: no active rule set)
    with what ``item`` matches in the ``banks`` ``service_id`` meets (a text's links, an
    item's hashes: :mod:`trustdesk.screening.bank_findings`). No database: an adapter that
    knows the gate's answer and the screener calls it anywhere (the HTTP door on its event
    loop), then :func:`keep` where it must."""
    if not allowed:
        return ScreenOutcome(service.identity_required(item), gated=True)
    text = None if screener is None else screener.screen(item.text, max_findings)
    found = () if service_id is None else bank_findings(banks, service_id, item, max_findings)
    return ScreenOutcome(merged(text, found, max_findings) if found else text)


def must_store(outcome: ScreenOutcome) -> bool:
    """Whether :func:`keep` stores the item (held, blocked or matched: the items that
    :func:`service.record` keeps); any other outcome is only counted, or not even that."""
    screening = outcome.screening
    if screening is None or outcome.gated:
        return False
    return screening.verdict is not Verdict.ALLOW or bool(screening.findings)


def keep(
    session: Session, call: ScreenCall, outcome: ScreenOutcome, *, tally: Tally | None
) -> ScreenOutcome:
    """Count ``outcome`` (in ``tally`` if given) and store what must be, durable with its
    follow-up when this returns (see :func:`service.record`)."""
    if outcome.gated:  # nothing of it is stored
        service.count(session, call.service_id, Verdict.BLOCK, tally=tally)
        return outcome
    if outcome.screening is None:
        return outcome
    item_id = service.record(
        session, call.service_id, call.item, outcome.screening, context=call.context, tally=tally
    )
    return replace(outcome, item_id=item_id)


def keep_many(
    session: Session,
    kept: Sequence[tuple[ScreenCall, ScreenOutcome]],
    *,
    tally: Tally | None,
) -> list[ScreenOutcome]:
    """:func:`keep` each, all in one transaction (a batch's stored items are durable
    together, or none is): the items to store in one :func:`service.store`, one INSERT per
    table for all of them."""
    if not kept:
        return []
    done: list[ScreenOutcome] = []
    stored: list[service.Screened] = []
    with transaction(session):
        for call, outcome in kept:
            if outcome.screening is None or not must_store(outcome):
                done.append(keep(session, call, outcome, tally=tally))
                continue
            item_id = uuid.uuid4()
            screened = service.Screened(
                call.service_id, item_id, call.item, outcome.screening, call.context
            )
            stored.append(screened)
            done.append(replace(outcome, item_id=item_id))
        if stored:
            service.store(session, stored)
    return done
