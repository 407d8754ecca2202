"""What a screen needs before the engine runs, from memory when the process has it.

The HTTP door asks, per request, whether the subject may publish (the identity slice's
gate: database reads) and which screener is the service's (the registry: the active
version, read once a second). Both answers are remembered for a second, so a clean
message from a known key and subject reaches the engine without a thread or a query; a
subject whose verification is withdrawn is refused within that second. Only a yes of the
gate is remembered: a refusal is asked again, so a subject verified a moment ago may
publish at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trustdesk.http.recent import Recent
from trustdesk.screening.engine import Screener
from trustdesk.screening.runtime import ScreenerRegistry
from trustdesk.screening.service import PublishGate

GateMemory = Recent[tuple[uuid.UUID, str | None], bool]


@dataclass(frozen=True, slots=True)
class Ready:
    """The gate's answer for a subject and the service's screener (None: no rule set)."""

    allowed: bool
    screener: Screener | None


def remembered(
    gates: GateMemory, screeners: ScreenerRegistry, service_id: uuid.UUID, subject: str | None
) -> tuple[Ready | None, bool]:
    """:class:`Ready` without the database (None if either answer needs it), and whether
    this caller is to refresh what it remembers (:func:`ready`, behind its request: the
    answer is good meanwhile, see :mod:`trustdesk.http.behind`)."""
    allowed, gate_due = gates.look((service_id, subject))
    if not allowed:
        return None, False
    known, screener, screener_due = screeners.remembered(service_id)
    if not known:
        return None, False
    return Ready(True, screener), gate_due or screener_due


def allowed(
    session: Session,
    gates: GateMemory,
    gate: PublishGate,
    service_id: uuid.UUID,
    subject: str | None,
) -> bool:
    """The gate's answer, remembered (a yes) or asked."""
    if gates.get((service_id, subject)):
        return True
    return asked(session, gates, gate, service_id, subject)


def asked(
    session: Session,
    gates: GateMemory,
    gate: PublishGate,
    service_id: uuid.UUID,
    subject: str | None,
) -> bool:
    """The gate's answer, asked (a yes remembered, a no forgetting any yes)."""
    answer = gate(session, service_id, subject)
    if answer:
        gates.put((service_id, subject), True)
    else:
        gates.forget((service_id, subject))
    return answer


def ready(
    session: Session,
    service_id: uuid.UUID,
    subject: str | None,
    *,
    gates: GateMemory,
    gate: PublishGate,
    screeners: ScreenerRegistry,
) -> Ready:
    """:class:`Ready` from the database (what :func:`remembered` could not answer, or was
    told to refresh)."""
    if not asked(session, gates, gate, service_id, subject):
        return Ready(False, None)
    return Ready(True, screeners.for_service(session, service_id))
