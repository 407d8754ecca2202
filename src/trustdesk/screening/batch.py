"""The batch use case: many items of one service screened at once, one result per item in
the order given.

An item the adapter could not read arrives as :class:`Refused` and stays refused; an item
whose content id came earlier in the batch is refused too (``duplicate_id``: a batch
acts on an item once). Every other item goes through the same halves as a single screen
(:func:`screen.judge`, :func:`screen.keep`), with the gate's answers and the screener
remembered (:mod:`trustdesk.screening.door`); the items that must be stored are stored
together, in one transaction, and the others are counted (in the :class:`Tally`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from trustdesk.banks.indexes import BankIndexes
from trustdesk.screening import door, screen, service
from trustdesk.screening.engine import Verdict
from trustdesk.screening.runtime import ScreenerRegistry
from trustdesk.screening.service import PublishGate
from trustdesk.screening.tally import Tally

DUPLICATE_ID = "duplicate_id"


@dataclass(frozen=True, slots=True)
class Refused:
    """An item of a batch that was not screened: ``code`` (stable) says why."""

    code: str
    detail: str
    field: str | None = None


Result = screen.ScreenOutcome | Refused


@dataclass(frozen=True, slots=True)
class Screening:
    """What screening a batch takes from the process: the gate and its memory, the
    service's screeners, the findings cap, the tally (None: counts written at once) and
    the banks' indexes (None: not loaded, rules alone)."""

    gates: door.GateMemory
    gate: PublishGate
    screeners: ScreenerRegistry
    max_findings: int
    tally: Tally | None
    banks: BankIndexes | None = None


def screen_batch(
    session: Session,
    service_id: uuid.UUID,
    entries: Sequence[screen.ScreenCall | Refused],
    using: Screening,
) -> list[Result]:
    """Screen ``entries`` (items of ``service_id``), one screener for all of them: the
    items to store are durable (with their follow-ups) when this returns."""
    known, screener = using.screeners.in_memory(service_id)
    if not known:
        screener = using.screeners.for_service(session, service_id)
    results: list[Result] = []
    stored: list[int] = []
    counted: Counter[Verdict] = Counter()
    seen: set[str] = set()
    for entry in entries:
        if isinstance(entry, Refused):
            results.append(entry)
            continue
        if entry.item.content_id in seen:
            detail = "an earlier item of this batch has the same content id"
            results.append(Refused(DUPLICATE_ID, detail, "content.id"))
            continue
        seen.add(entry.item.content_id)
        allowed = door.allowed(session, using.gates, using.gate, service_id, entry.item.subject)
        outcome = screen.judge(
            entry.item,
            allowed=allowed,
            screener=screener if allowed else None,
            max_findings=using.max_findings,
            banks=using.banks,
            service_id=service_id,
        )
        if screen.must_store(outcome):
            stored.append(len(results))
        elif outcome.screening is not None:
            counted[outcome.screening.verdict] += 1
        results.append(outcome)
    kept = screen.keep_many(
        session,
        [(_call(entries[i]), _outcome(results[i])) for i in stored],
        tally=using.tally,
    )
    for index, outcome in zip(stored, kept, strict=True):
        results[index] = outcome
    for verdict, n in counted.items():
        service.count(session, service_id, verdict, tally=using.tally, n=n)
    return results


def _call(entry: screen.ScreenCall | Refused) -> screen.ScreenCall:
    assert isinstance(entry, screen.ScreenCall)
    return entry


def _outcome(result: Result) -> screen.ScreenOutcome:
    assert isinstance(result, screen.ScreenOutcome)
    return result
