"""Counts of verdicts that store nothing, kept in memory and written in aggregate.

A clean message (allowed, no finding) and a subject the publishing gate refuses leave
nothing in the database but a count. Writing that count at once made every request of a
service wait on one row (the day's counter); instead the process adds it to a
:class:`Tally`, and a loop (:func:`run`, started with the server) writes what the tally
holds every ``screening_counts_flush_seconds`` as one upsert per (service, day, verdict),
and once more at shutdown.

The loss on a crash is bounded and stated: a process killed without its shutdown (``kill
-9``, power loss) loses the counts of the unstored verdicts it answered since its last
flush, at most one flush interval of one process's clean and gated verdicts. Stored
(matched) items are never counted here: the outbox's follow-up counts them exactly, in the
transaction that logs them (:mod:`trustdesk.screening.outbox`).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter
from datetime import date

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database, transaction
from trustdesk.screening.models import ScreeningCount

log = logging.getLogger("trustdesk.screening")

Key = tuple[uuid.UUID, date, str]  # service, UTC day, verdict


def add_counts(session: Session, counts: Counter[Key]) -> None:
    """Add ``counts`` to the stored ones: one upsert statement, in the caller's transaction
    (or one of its own)."""
    rows = [
        {"service_id": service_id, "day": day, "verdict": verdict, "count": n}
        for (service_id, day, verdict), n in sorted(counts.items())
        if n
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ScreeningCount)
    upsert = insert.on_conflict_do_update(
        index_elements=["service_id", "day", "verdict"],
        set_={"count": ScreeningCount.count + insert.excluded.count},
    )
    with transaction(session):
        session.execute(upsert, rows)


class Tally:
    """Verdict counts not yet written, per (service, UTC day, verdict); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()

    def add(self, service_id: uuid.UUID, verdict: str, day: date | None = None, n: int = 1) -> None:
        key = (service_id, day or utcnow().date(), verdict)
        with self._lock:
            self._counts[key] += n

    def pending(self) -> int:
        """How many verdicts wait to be written."""
        with self._lock:
            return sum(self._counts.values())

    def flush(self, session: Session) -> int:
        """Write what the tally holds (in one transaction); returns how many verdicts.
        If the write fails, the counts go back into the tally for the next flush."""
        with self._lock:
            taken, self._counts = self._counts, Counter()
        if not taken:
            return 0
        try:
            add_counts(session, taken)
        except BaseException:
            with self._lock:
                self._counts.update(taken)
            raise
        return sum(taken.values())

    def flush_to(self, database: Database) -> int:
        """:meth:`flush` in a session of its own."""
        with database.session() as session:
            return self.flush(session)


async def run(tally: Tally, database: Database, interval: float) -> None:
    """Write the tally every ``interval`` seconds, forever (cancel to stop; the caller
    flushes once more at shutdown). A failed write is logged and retried next time."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(tally.flush_to, database)
        except Exception:
            log.exception("writing screening counts failed; retrying in %s s", interval)
