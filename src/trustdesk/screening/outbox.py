"""The follow-up of stored verdicts, in batches: the screening outbox drained.

:func:`trustdesk.screening.service.record` makes a matched item durable in one short
transaction with a row of this outbox, and the verdict is answered. :func:`drain` then
follows up the oldest rows in ONE transaction: it takes the record log's lock, reads the
rows under it (so two drainers, in two processes or on two hosts, never follow up one
row), and for each item counts the verdict, appends its ``screening.content_screened``
entry, gives the item its log index, tells the listener (the case, the automatic decision
and their actions, whose log entries share the lock and the tree's right edge) and
deletes the row. The counts go in one upsert and the entries in one append per batch; a
:class:`BatchListener` is told of the whole batch at once, and follows it up as a whole.

A follow-up that fails (the listener raises) never stops the others: the batch is rolled
back and retried item by item, each in its own transaction; a failing item's row records
the attempt and the error, and after :data:`MAX_ATTEMPTS` it is parked (logged as an
error) and drained no more. An operational database error (connection lost, lock timeout)
is no item's fault: it ends the pass and the loop retries later, attempting nothing.

:class:`OutboxDriver` runs it in a process: :meth:`~OutboxDriver.kick` after a durable
write, :meth:`~OutboxDriver.run` (the loop the server starts: one function, safe in every
process since rows are claimed under the log's lock), :meth:`~OutboxDriver.drain_now` for
synchronous callers, and :meth:`~OutboxDriver.settled` to wait for one item's follow-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database, read_transaction, transaction
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
REMEMBERED = 10_000  # item ids a driver remembers as done, for settled()
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
    records.lock(session)  # first: the rows are read under the log's lock
    query = select(ScreeningFollowUp).where(ScreeningFollowUp.parked_at.is_(None))
    if only is not None:
        query = query.where(ScreeningFollowUp.item_id == only)
    query = query.order_by(ScreeningFollowUp.created_at, ScreeningFollowUp.item_id).limit(limit)
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
    query = select(func.count()).where(ScreeningFollowUp.parked_at.is_(None))
    with read_transaction(session):
        return int(session.scalar(query) or 0)


class OutboxDriver:
    """Drains the outbox in this process: the server's loop, and whoever must wait.

    ``poll_seconds``: how often :meth:`poll` (run in one process of all) wakes the loop, so
    that it finds the rows another process stored, or a crash left.
    """

    def __init__(
        self,
        database: Database,
        listener: ScreeningListener | None,
        *,
        poll_seconds: float,
        batch: int = BATCH,
    ) -> None:
        self.database = database
        self.listener = listener
        self.poll_seconds = poll_seconds
        self.batch = batch
        # SQLite: the log's lock is the database's write lock, so a batch is paced to hold
        # it briefly (see drain_now). PostgreSQL: it holds back only other log appenders,
        # and a pass's fixed cost is better spread over a full batch.
        self._paces = database.engine.dialect.name == "sqlite"
        self._limit = max(1, batch // 10) if self._paces else batch
        self._lock = Lock()
        self._done: OrderedDict[uuid.UUID, None] = OrderedDict()  # done or parked here
        self._awaited: Counter[uuid.UUID] = Counter()  # items settled() waits for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._passed: asyncio.Event | None = None  # set (and replaced) after each pass
        self._draining = 0  # passes under way here (drain_now calls)

    @property
    def running(self) -> bool:
        """Whether :meth:`run` runs (in this process's event loop)."""
        return self._loop is not None

    def kick(self) -> None:
        """Something was stored: wake the loop (from any thread; nothing if none runs)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    def drain_now(self) -> int:
        """Drain until no full batch is left, here (a thread, a command); returns how many
        items were followed up. On SQLite each batch is sized from the last one's pace to
        hold the log's lock about :data:`HOLD_SECONDS` (every writer waits for it there);
        elsewhere a batch is :attr:`batch` items at most."""
        total = 0
        with self._lock:
            self._draining += 1
        try:
            with self.database.session() as session:
                while True:
                    started = time.monotonic()
                    drained = drain(session, self.listener, self._limit)
                    self._remember(drained)
                    total += len(drained.done)
                    seen = drained.seen
                    full, self._limit = seen >= self._limit, self._paced(seen, started)
                    self._settled_elsewhere(session)
                    if not full:
                        return total
                    self._tell()  # more passes follow: who waits rechecks now
        finally:
            with self._lock:
                self._draining -= 1
            self._tell()

    def _tell(self) -> None:
        """Wake who waits in :meth:`settled`: a pass ended here."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._next_pass)

    def _settled_elsewhere(self, session: Session) -> None:
        """Remember as done the awaited items another process followed up (or parked):
        one query after each pass, so that who waits for them is told at the pass, not
        at the poll."""
        with self._lock:
            awaited = [item_id for item_id in self._awaited if item_id not in self._done]
        if not awaited:
            return
        query = select(ScreeningFollowUp.item_id).where(
            ScreeningFollowUp.item_id.in_(awaited), ScreeningFollowUp.parked_at.is_(None)
        )
        with read_transaction(session):
            left = set(session.scalars(query))
        self._remember(Drained(tuple(item_id for item_id in awaited if item_id not in left)))

    def _paced(self, seen: int, started: float) -> int:
        if not self._paces or not seen:
            return self._limit
        each = max(time.monotonic() - started, 1e-6) / seen
        return max(1, min(self.batch, int(HOLD_SECONDS / each)))

    def _remember(self, drained: Drained) -> None:
        with self._lock:
            for item_id in (*drained.done, *drained.parked):
                self._done[item_id] = None
            while len(self._done) > REMEMBERED:
                self._done.popitem(last=False)

    def _settled_here(self, item_id: uuid.UUID) -> bool:
        with self._lock:
            return item_id in self._done

    def _next_pass(self) -> None:
        passed, self._passed = self._passed, asyncio.Event()
        if passed is not None:
            passed.set()

    def _waiting(self, item_id: uuid.UUID) -> bool:
        with self.database.session() as session:
            return waiting(session, item_id)

    async def run(self) -> None:
        """Drain while there is work, else sleep until kicked (by a durable write here, or
        by :meth:`poll`); forever (cancel to stop). Every process runs it for what it stores
        itself; rows are claimed under the log's lock, so two never follow up one row. A
        failed pass is logged and retried at the next kick."""
        self._loop = asyncio.get_running_loop()
        self._wake, self._passed = asyncio.Event(), asyncio.Event()
        try:
            while True:
                self._wake.clear()
                try:
                    await asyncio.to_thread(self.drain_now)
                except Exception:
                    log.exception("following up stored verdicts failed; retrying")
                await self._wake.wait()
        finally:
            self._loop = self._wake = self._passed = None

    async def poll(self) -> None:
        """Kick :meth:`run` every ``poll_seconds``, forever: it then finds the rows another
        process stored, or a crash left, and retries failed ones. The server runs this in one
        process of all (under a lease)."""
        while True:
            await asyncio.sleep(self.poll_seconds)
            self.kick()

    async def settled(self, item_id: uuid.UUID, timeout: float) -> bool:
        """Return once ``item_id``'s follow-up is done (or parked), True; False if it is
        not after ``timeout`` seconds. Without a loop in this process, drain here."""
        with self._lock:
            self._awaited[item_id] += 1
        try:
            return await self._settled(item_id, timeout)
        finally:
            with self._lock:
                self._awaited[item_id] -= 1
                if self._awaited[item_id] <= 0:
                    del self._awaited[item_id]

    async def _settled(self, item_id: uuid.UUID, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            passed = self._passed
            if self._settled_here(item_id):
                return True
            if passed is None:  # no loop runs here: follow up now
                try:
                    await asyncio.to_thread(self.drain_now)
                except Exception:
                    log.exception("following up stored verdicts failed")
                    return False
                done = self._settled_here(item_id)
                return done or not await asyncio.to_thread(self._waiting, item_id)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:  # the next pass here, or a while (another process may follow it up)
                await asyncio.wait_for(passed.wait(), min(remaining, self.poll_seconds))
            except TimeoutError:
                if self._draining:  # a pass is under way here: its end tells
                    continue
                if not await asyncio.to_thread(self._waiting, item_id):
                    return True
