"""The screening outbox's driver in a process: :meth:`~OutboxDriver.kick` after a durable
write, :meth:`~OutboxDriver.run` (the loop the server starts: one function, safe in every
process since :func:`~trustdesk.screening.outbox.drain` claims rows under the log's lock),
:meth:`~OutboxDriver.drain_now` for synchronous callers, and :meth:`~OutboxDriver.settled`
to wait for one item's follow-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter, OrderedDict
from threading import Lock

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.db.engine import Database, read_transaction
from trustdesk.screening.models import ScreeningFollowUp
from trustdesk.screening.outbox import BATCH, HOLD_SECONDS, Drained, backlogs, drain, waiting
from trustdesk.screening.service import ScreeningListener

log = logging.getLogger("trustdesk.screening")

REMEMBERED = 10_000  # item ids a driver remembers as done, for settled()


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
        # follow-ups waiting in all processes by service, as the last full pass counted
        self.backlogs: dict[uuid.UUID, int] = {}

    @property
    def running(self) -> bool:
        """Whether :meth:`run` runs (in this process's event loop)."""
        return self._loop is not None

    def kick(self) -> None:
        """Something was stored: wake the loop (from any thread; nothing if none runs)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or wake.is_set():
            return
        try:
            here = asyncio.get_running_loop() is loop
        except RuntimeError:  # (a thread with no loop)
            here = False
        if here:  # on the loop itself (the door): no wake-up of the loop to ask for
            wake.set()
            return
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
                    # (a pass that found less than it could take left less than a batch)
                    self.backlogs = backlogs(session) if full else {}
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

    @property
    def backlog(self) -> int:
        """Follow-ups waiting in all processes, as the last full pass counted."""
        return sum(self.backlogs.values())

    async def room(self, service_id: uuid.UUID, bound: int, timeout: float) -> None:
        """Return once at most ``bound`` of ``service_id``'s follow-ups wait (as the last
        pass here counted), or after ``timeout`` seconds: the door's backpressure, so that a
        service's stored items are not answered faster than their follow-ups are done for
        long. Another service's backlog never holds it up (and the drain takes the services
        in turn, :func:`trustdesk.screening.outbox.drain`)."""
        if self.backlogs.get(service_id, 0) <= bound or self._loop is None:
            return
        deadline = time.monotonic() + timeout
        while self.backlogs.get(service_id, 0) > bound and (passed := self._passed) is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, self.poll_seconds)):
                    await passed.wait()

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
                async with asyncio.timeout(min(remaining, self.poll_seconds)):
                    await passed.wait()
            except TimeoutError:
                if self._draining:  # a pass is under way here: its end tells
                    continue
                if not await asyncio.to_thread(self._waiting, item_id):
                    return True
