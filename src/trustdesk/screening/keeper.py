"""The door's durable writes, committed in groups.

A blocked or held item is made durable before its verdict is answered (art. 7). Each
request stored its own item in a transaction of its own, on a worker thread of its own:
under load, many requests each paid a thread hand-off, a connection checkout, three
INSERTs and a commit, for one row each. The :class:`Keeper` of a process instead queues
the items to store; one writer at a time takes every item queued so far and stores them
in one transaction (:func:`trustdesk.screening.screen.keep_many`: one INSERT per table),
then answers each request. An item arriving while a group is written waits for the next
group, so a lone request is written at once and a busy door writes fewer, larger groups.

Nothing is answered before its group is committed. If a group fails, its items are
written again one by one, so that an item the database refuses fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from trustdesk.db.engine import Database
from trustdesk.screening.screen import ScreenCall, ScreenOutcome, keep_many
from trustdesk.screening.tally import Tally

GROUP = 256  # items at most in one transaction

Waiting = tuple[ScreenCall, ScreenOutcome, "asyncio.Future[ScreenOutcome]"]


class Keeper:
    """Stores the items a process's requests must keep, a group per transaction."""

    def __init__(self, database: Database, tally: Tally | None) -> None:
        self.database = database
        self.tally = tally
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[Waiting] = []
        self._writer: asyncio.Task[None] | None = None

    async def keep(self, call: ScreenCall, outcome: ScreenOutcome) -> ScreenOutcome:
        """``outcome`` kept (see :func:`~trustdesk.screening.screen.keep`): durable when
        this returns, committed with whatever other requests queued meanwhile."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a test's client): start afresh
            self._loop, self._queue, self._writer = loop, [], None
        future: asyncio.Future[ScreenOutcome] = loop.create_future()
        self._queue.append((call, outcome, future))
        if self._writer is None:
            self._writer = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self._queue:
                group, self._queue = self._queue[:GROUP], self._queue[GROUP:]
                try:
                    await self._write_group(group)
                except BaseException:  # cancelled (the loop stops): nobody is left waiting
                    for _, _, future in (*group, *self._queue):
                        future.cancel()
                    self._queue = []
                    raise
        finally:
            self._writer = None

    async def _write_group(self, group: Sequence[Waiting]) -> None:
        kept = [(call, outcome) for call, outcome, _ in group]
        try:
            done = await run_in_threadpool(self._keep_many, kept)
        except Exception as error:
            if len(group) > 1:  # one transaction for all failed: each alone
                for waiting in group:
                    await self._write_group([waiting])
            elif not group[0][2].done():
                group[0][2].set_exception(error)
            return
        for (_, _, future), outcome in zip(group, done, strict=True):
            if not future.done():  # (its request may be gone)
                future.set_result(outcome)

    def _keep_many(self, kept: list[tuple[ScreenCall, ScreenOutcome]]) -> list[ScreenOutcome]:
        with self.database.session() as session:
            return keep_many(session, kept, tally=self.tally)
