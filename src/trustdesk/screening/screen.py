"""The screen use case: one content item through the publishing gate, the service's active
rule set and, if anything matched, the store (its follow-up, the record log and review, is
the outbox's: :mod:`trustdesk.screening.outbox`).

The HTTP API's ``POST /v1/screen`` calls :func:`screen`; anything else that screens an item
for a service (and stores what it must) calls it too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from trustdesk.screening import service
from trustdesk.screening.engine import Screening, Verdict
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
    the item is allowed); ``item_id``: where the item was stored (held, blocked or matched;
    its follow-up waits in the outbox: kick the drainer);
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
) -> ScreenOutcome:
    """Screen ``call.item`` for its service: a subject the gate refuses is blocked (and only
    counted); otherwise the service's active rule set decides, and the verdict is counted
    (in ``tally`` if given, see :func:`service.count`), or stored with its follow-up if
    anything matched."""
    item = call.item
    if not gate(session, call.service_id, item.subject):  # nothing of it is stored
        service.count(session, call.service_id, Verdict.BLOCK, tally=tally)
        return ScreenOutcome(service.identity_required(item), gated=True)
    screener = screeners.for_service(session, call.service_id)
    if screener is None:
        return ScreenOutcome(None)
    screening = screener.screen(item.text, max_findings)
    item_id = service.record(
        session, call.service_id, item, screening, context=call.context, tally=tally
    )
    return ScreenOutcome(screening, item_id)
