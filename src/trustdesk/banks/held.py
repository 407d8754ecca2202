"""The process's copy of the banks' indexes: built once at start, refreshed every so often.

    held = HeldIndexes()
    held.load(database)             # at start, on a worker thread (the app's lifespan)
    await held.run(database, 1.0)   # a loop every process runs for itself
    held.indexes                    # None until loaded: the door screens text as before

Every process holds its own :class:`~trustdesk.banks.indexes.BankIndexes` (no lease: each
must see a bank change within a refresh). A failed load is logged and leaves ``indexes``
None with ``status`` saying why (``/readyz``'s ``bank_indexes`` check); the loop tries the
load again on its next turn, then refreshes what changed (never a rebuild).
"""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from trustdesk.banks.indexes import BankIndexes
from trustdesk.db.engine import Database

log = logging.getLogger("trustdesk.banks")
NOT_LOADED = "not loaded yet: the app has not started"


class HeldIndexes:
    """The process's bank indexes (None until loaded) and why they are not, if not."""

    def __init__(self) -> None:
        self.indexes: BankIndexes | None = None
        self.status: str | None = NOT_LOADED  # None: loaded (and refreshed since)

    def load(self, database: Database) -> BankIndexes | None:
        """Build the indexes of every enabled bank; on failure log it and keep serving."""
        try:
            with database.session() as session:
                indexes = BankIndexes.build(session)
        except Exception as exc:  # the database is down, a table missing: text as today
            log.exception("loading the banks' indexes failed")
            self.status = f"loading them failed ({exc.__class__.__name__})"
            return None
        self.indexes, self.status = indexes, None
        log.info("banks' indexes loaded: %d entries", indexes.stats.entries)
        return indexes

    def refresh(self, database: Database) -> None:
        """Apply what changed since the last refresh (or load them, if not loaded yet)."""
        indexes = self.indexes
        if indexes is None:
            self.load(database)
            return
        try:
            with database.session() as session:
                indexes.refresh(session)
        except Exception as exc:  # kept as they were; tried again on the next turn
            log.exception("refreshing the banks' indexes failed")
            self.status = f"refreshing them failed ({exc.__class__.__name__})"
            return
        self.status = None

    async def run(self, database: Database, every: float) -> None:
        """Refresh every ``every`` seconds until cancelled, off the event loop."""
        while True:
            await asyncio.sleep(every)
            await run_in_threadpool(self.refresh, database)
