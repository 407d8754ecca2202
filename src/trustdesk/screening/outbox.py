"""The follow-up of stored verdicts, in batches: the screening outbox drained.

:func:`trustdesk.screening.service.record` makes a matched item durable in one short
transaction with a row of this outbox, and the verdict is answered. :func:`drain` then
follows up the oldest rows in ONE transaction, the services in turn: it takes the record
log's lock, reads the rows under it (so two drainers, in two processes or on two hosts,
never follow up one row), and for each item counts the verdict, appends its
``screening.content_screened`` entry, gives the item its log index, tells the listener
(the case, the automatic decision and their actions, whose log entries share the lock and
the tree's right edge) and deletes the row. The counts go in one upsert and the entries
in one append per batch; a
:class:`BatchListener` is told of the whole batch at once, and follows it up as a whole.

A follow-up that fails (the listener raises) never stops the others: the batch is rolled
back and retried item by item, each in its own transaction; a failing item's row records
the attempt and the error, and after :data:`MAX_ATTEMPTS` it is parked (logged as an
error) and drained no more. An operational database error (connection lost, lock timeout)
is no item's fault: it ends the pass and the loop retries later, attempting nothing.

:class:`trustdesk.screening.driver.OutboxDriver` runs it in a process.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.screening.models import ContentItem, ScreeningFollowUp
from trustdesk.screening.service import ContentIn, Screened, ScreeningListener, screening_of
from trustdesk.screening.tally import Key, add_counts

log = logging.getLogger("trustdesk.screening")

BATCH = 200  # follow-ups per transaction, at most
HOLD_SECONDS = 0.25  # what a driver's batch aims to hold the log's lock (SQLite: all writes)
MAX_ATTEMPTS = 5  # failed follow-ups of one item before it is parked
TRANSIENT = (OperationalError, InterfaceError)  # the database's fault, not the item's


@dataclass(frozen=True, slots=True)
class Drained:
    """What one pass did: items followed up, items that failed (to retry), items parked."""

    done: tuple[uuid.UUID, ...] = ()
    failed: tuple[uuid.UUID, ...] = ()
    parked: tuple[uuid.UUID, ...] = ()

    @property
    def seen(self) -> int:
        """Rows the pass took, whatever became of them (fewer than asked: none are left)."""
        return len(self.done) + len(self.failed) + len(self.parked)


@runtime_checkable
class BatchListener(ScreeningListener, Protocol):
    """A listener told of a drain's batch at once (in order), which it may follow up as a
    whole: :class:`trustdesk.cases.screened.CasesListener`. It appends ``leading`` (the
    batch's ``screening.content_screened`` entries, each with the item it indexes) to the
    log before its own entries, in one append."""

    def many(
        self,
        session: Session,
        screened: Sequence[Screened],
        leading: Sequence[tuple[leaf.Event, ContentItem]] = (),
    ) -> None: ...


def _claim(session: Session, limit: int, only: uuid.UUID | None = None) -> list[ScreeningFollowUp]:
    """Up to ``limit`` rows to follow up, read under the log's lock: the services in turn
    (each one's oldest row, then each one's second, ...), oldest first within a turn, so
    that a service with a long backlog takes its share of a batch and no more, and another
    service's items are followed up at once rather than after the whole backlog. (The turn
    is a window over the rows waiting, which the door's backpressure keeps to about
    :data:`trustdesk.screening.api.BACKLOG` a service.)"""
    records.lock(session)  # first: the rows are read under the log's lock
    row = ScreeningFollowUp
    if only is not None:
        query = select(row).where(row.parked_at.is_(None), row.item_id == only)
        return list(session.scalars(query.execution_options(populate_existing=True)))
    turn = (
        func.row_number()
        .over(partition_by=row.service_id, order_by=(row.created_at, row.item_id))
        .label("turn")
    )
    waiting = select(row.item_id, turn).where(row.parked_at.is_(None)).subquery()
    query = (
        select(row)
        .join(waiting, waiting.c.item_id == row.item_id)
        .where(waiting.c.turn <= limit)
        .order_by(waiting.c.turn, row.created_at, row.item_id)
        .limit(limit)
    )
    return list(session.scalars(query.execution_options(populate_existing=True)))


def _entry(item: ContentItem) -> dict[str, Any]:
    return {
        "item_id": str(item.id),
        "content_id_digest": leaf.keyed(item.content_id),
        "text_digest": leaf.text_digest(item.text),
        "verdict": item.verdict,
        "ruleset": item.ruleset,
        "rules": sorted({f.rule for f in item.findings}),
    }


def _follow(
    session: Session, listener: ScreeningListener | None, rows: list[ScreeningFollowUp]
) -> list[uuid.UUID]:
    """Follow up ``rows`` (claimed under the lock) in the caller's transaction."""
    if not rows:
        return []
    ids = [row.item_id for row in rows]
    query = select(ContentItem).where(ContentItem.id.in_(ids))
    found = {item.id: item for item in session.scalars(query)}
    items = [found[item_id] for item_id in ids]
    add_counts(session, Counter[Key]((i.service_id, i.created_at.date(), i.verdict) for i in items))
    events = [
        leaf.Event(EventType.SCREENING_CONTENT_SCREENED, i.service_id, _entry(i)) for i in items
    ]
    if not isinstance(listener, BatchListener):  # else the listener appends them, first
        for item, appended in zip(items, records.append_many(session, events), strict=True):
            item.log_index = appended.index
        session.flush()
    if listener is not None:
        screened = [
            Screened(
                item.service_id,
                item.id,
                ContentIn(item.content_id, item.text, item.subject, item.kind),
                screening_of(item),
                row.context,
            )
            for item, row in zip(items, rows, strict=True)
        ]
        if isinstance(listener, BatchListener):
            listener.many(session, screened, list(zip(events, items, strict=True)))
        else:
            for one in screened:
                listener(session, one)
    session.execute(delete(ScreeningFollowUp).where(ScreeningFollowUp.item_id.in_(ids)))
    return ids


def drain(
    session: Session,
    listener: ScreeningListener | None,
    limit: int = BATCH,
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> Drained:
    """Follow up at most ``limit`` stored verdicts, oldest first, in one transaction; if
    one fails, retry them one by one (see the module). Needs a session outside any
    transaction."""
    claimed: list[uuid.UUID] = []
    try:
        with transaction(session):
            rows = _claim(session, limit)
            claimed = [row.item_id for row in rows]
            return Drained(tuple(_follow(session, listener, rows)))
    except TRANSIENT:
        raise
    except Exception:
        log.warning("a batch of %d screening follow-ups failed; retrying one by one", len(claimed))
    done: list[uuid.UUID] = []
    failed: list[uuid.UUID] = []
    parked: list[uuid.UUID] = []
    for item_id in claimed:
        try:
            with transaction(session):
                done += _follow(session, listener, _claim(session, 1, only=item_id))
        except TRANSIENT:
            raise
        except Exception as exc:
            (parked if _failed(session, item_id, exc, max_attempts) else failed).append(item_id)
    return Drained(tuple(done), tuple(failed), tuple(parked))


def _failed(session: Session, item_id: uuid.UUID, error: Exception, max_attempts: int) -> bool:
    """Note a failed follow-up; True if that parks it."""
    said = f"{type(error).__name__}: {error}"[:500]
    with transaction(session):
        attempts = session.scalar(
            update(ScreeningFollowUp)
            .where(ScreeningFollowUp.item_id == item_id)
            .values(attempts=ScreeningFollowUp.attempts + 1, last_error=said)
            .returning(ScreeningFollowUp.attempts)
        )
        park = attempts is not None and attempts >= max_attempts
        if park:
            session.execute(
                update(ScreeningFollowUp)
                .where(ScreeningFollowUp.item_id == item_id)
                .values(parked_at=utcnow())
            )
    if park:
        log.error(
            "screening follow-up of item %s parked after %d attempts: %s", item_id, attempts, said
        )
    else:
        log.warning(
            "screening follow-up of item %s failed (attempt %s): %s", item_id, attempts, said
        )
    return park


def drain_all(session: Session, listener: ScreeningListener | None, batch: int = BATCH) -> int:
    """Drain until no full batch is left; returns how many items were followed up."""
    total = 0
    while True:
        drained = drain(session, listener, batch)
        total += len(drained.done)
        if drained.seen < batch:
            return total


def waiting(session: Session, item_id: uuid.UUID) -> bool:
    """Whether the item's follow-up is still to do (not done, not parked)."""
    query = select(ScreeningFollowUp.item_id).where(
        ScreeningFollowUp.item_id == item_id, ScreeningFollowUp.parked_at.is_(None)
    )
    with read_transaction(session):
        return session.scalar(query) is not None


def backlog(session: Session) -> int:
    """How many follow-ups wait (parked ones aside)."""
    return sum(backlogs(session).values())


def backlogs(session: Session) -> dict[uuid.UUID, int]:
    """How many follow-ups wait (parked ones aside), by service; a service without any is
    not named."""
    row = ScreeningFollowUp
    query = (
        select(row.service_id, func.count()).where(row.parked_at.is_(None)).group_by(row.service_id)
    )
    with read_transaction(session):
        return {service_id: int(count) for service_id, count in session.execute(query)}
