"""The screen use case as the HTTP door runs it: on the event loop, a thread only when one
is needed.

:func:`screen` is ``POST /v1/screen``'s work, which its route only adapts (the body in,
the answer out). A clean item from a remembered key and subject is screened on the event
loop: the gate's answer and the service's screener come from memory
(:func:`door.remembered`; one refreshed behind the request when due,
:mod:`trustdesk.http.behind`), the engine judges inline (a text over :data:`INLINE_CHARS`
on a worker thread), and the verdict is counted in the tally: no thread, no query. An item
to store goes to the process's :class:`~trustdesk.screening.keeper.Keeper` (the requests'
items of the moment in one transaction) and its follow-up is kicked; while the service's
backlog in the outbox is over :data:`BACKLOG` the answer waits for a pass (:func:`followed`;
another service's backlog never holds it up).

:func:`screen_batch` is ``POST /v1/screen/batch``'s, run on one worker thread with the
items already read (:mod:`trustdesk.screening.items`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from trustdesk.banks.held import HeldIndexes
from trustdesk.db.engine import Database
from trustdesk.http import behind
from trustdesk.screening import batch, door, service
from trustdesk.screening import screen as use_case
from trustdesk.screening.driver import OutboxDriver
from trustdesk.screening.engine import Verdict
from trustdesk.screening.keeper import Keeper
from trustdesk.screening.runtime import ScreenerRegistry
from trustdesk.screening.tally import Tally
from trustdesk.settings import Settings

INLINE_CHARS = 65_536  # a longer text is screened on a worker thread, not the event loop
SETTLE_SECONDS = 10.0  # how long a stored item's answer (or test waiter) waits at most
BACKLOG = 2_000  # a service's follow-ups waiting past which its stored items' answers wait


class DoorDesk(Protocol):
    """What the door takes from the process's wiring."""

    @property
    def screeners(self) -> ScreenerRegistry: ...

    @property
    def database(self) -> Database: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def known_gates(self) -> door.GateMemory:
        """The gate's yes per (service, subject), remembered for a moment."""

    @property
    def screening_tally(self) -> Tally | None:
        """Unstored verdicts counted in memory, written every second (None: at once)."""

    @property
    def screening_outbox(self) -> OutboxDriver:
        """Follows up stored verdicts (log entry, case, decision) in batches."""

    @property
    def bank_indexes(self) -> HeldIndexes:
        """The banks' indexes this process holds (a text's links, an item's hashes)."""

    @property
    def screening_keeper(self) -> Keeper:
        """Stores the items to keep, the requests' items of a moment in one transaction."""

    def publish_gate(self, session: Session, service_id: uuid.UUID, subject: str | None) -> bool:
        """A :class:`service.PublishGate`."""


async def screen(desk: DoorDesk, call: use_case.ScreenCall) -> use_case.ScreenOutcome:
    """:func:`use_case.screen` for the event loop: the verdict on ``call.item``, counted, or
    stored (durable when this returns) with its follow-up under way."""
    item, service_id = call.item, call.service_id
    ready, refresh = door.remembered(desk.known_gates, desk.screeners, service_id, item.subject)
    if ready is None or (  # (a remembered answer due for a refresh: refreshed behind this)
        refresh and not behind.refresh(functools.partial(_ready, desk, service_id, item.subject))
    ):
        ready = await run_in_threadpool(_ready, desk, service_id, item.subject)
    judge = functools.partial(
        use_case.judge,
        item,
        allowed=ready.allowed,
        screener=ready.screener,
        max_findings=desk.settings.screening_max_findings,
        banks=desk.bank_indexes.indexes,
        service_id=service_id,
    )
    outcome = judge() if len(item.text) <= INLINE_CHARS else await run_in_threadpool(judge)
    if use_case.must_store(outcome):
        outcome = await desk.screening_keeper.keep(call, outcome)
        await followed(desk, service_id, [outcome.item_id])
    elif outcome.screening is not None:
        await _count(desk, service_id, outcome.screening.verdict)
    return outcome


def screen_batch(
    desk: DoorDesk,
    service_id: uuid.UUID,
    entries: Sequence[use_case.ScreenCall | batch.Refused],
) -> list[batch.Result]:
    """:func:`batch.screen_batch` with the process's gate memory, screeners and tally, in a
    session of its own (a worker thread's: it queries and commits). Call :func:`followed`
    with what it stored afterwards."""
    using = batch.Screening(
        desk.known_gates,
        desk.publish_gate,
        desk.screeners,
        desk.settings.screening_max_findings,
        desk.screening_tally,
        desk.bank_indexes.indexes,
    )
    with desk.database.session() as session:
        return batch.screen_batch(session, service_id, entries, using)


def stored(results: Sequence[batch.Result]) -> list[uuid.UUID]:
    """The ids of the items that ``results`` stored."""
    return [r.item_id for r in results if not isinstance(r, batch.Refused) and r.item_id]


async def followed(
    desk: DoorDesk, service_id: uuid.UUID, items: Sequence[uuid.UUID | None]
) -> None:
    """Kick the follow-ups of ``service_id``'s stored ``items`` (the outbox, in batches, the
    services in turn); return at once unless that service's backlog is over
    :data:`BACKLOG`, then after a pass (:meth:`OutboxDriver.room`, at most
    :data:`SETTLE_SECONDS`), so a service's answers cannot run ahead of its follow-ups for
    long, and another service's flood never holds them up."""
    if not any(item_id is not None for item_id in items):
        return
    desk.screening_outbox.kick()
    await desk.screening_outbox.room(service_id, BACKLOG, SETTLE_SECONDS)


async def settled(outbox: OutboxDriver, items: Sequence[uuid.UUID | None]) -> None:
    """Wait (each at most :data:`SETTLE_SECONDS`) until ``items`` are followed up: for a
    caller that must see their cases once its exchange ends (an app built for tests)."""
    for item_id in items:
        if item_id is not None:
            await outbox.settled(item_id, SETTLE_SECONDS)


def _ready(desk: DoorDesk, service_id: uuid.UUID, subject: str | None) -> door.Ready:
    with desk.database.session() as session:
        return door.ready(
            session,
            service_id,
            subject,
            gates=desk.known_gates,
            gate=desk.publish_gate,
            screeners=desk.screeners,
        )


async def _count(desk: DoorDesk, service_id: uuid.UUID, verdict: Verdict) -> None:
    """Count an unstored verdict: in the tally (no thread, no query), or at once."""
    tally = desk.screening_tally
    if tally is not None:
        tally.add(service_id, str(verdict))
        return
    await run_in_threadpool(_count_now, desk, service_id, verdict)


def _count_now(desk: DoorDesk, service_id: uuid.UUID, verdict: Verdict) -> None:
    with desk.database.session() as session:
        service.count(session, service_id, verdict)
