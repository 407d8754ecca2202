"""Verdicts the HTTP door counts without storing anything (clean items, gated ones), kept in
memory and written together: one transaction for all that arrived while the previous
write ran, so a clean screen never waits on the database or on another request's count.

Whoever adds a count and is told a write must start (none is under way) runs
:meth:`Tally.write` after answering (the route's background task): it writes what is
pending, again until nothing is. What a crash loses is bounded: the counts added since the
running write drained them (milliseconds on a healthy database), or, while the database
does not answer, those waiting for it (each new count then tries again).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable

from sqlalchemy.orm import Session

from trustdesk.db.engine import transaction
from trustdesk.screening import service
from trustdesk.screening.engine import Verdict

log = logging.getLogger("trustdesk.screening")


class Tally:
    """Counts of verdicts by service, waiting to be written."""

    def __init__(self) -> None:
        self._pending: Counter[tuple[uuid.UUID, Verdict]] = Counter()
        self._lock = threading.Lock()
        self._writing = False

    def add(self, service_id: uuid.UUID, verdict: Verdict, n: int = 1) -> bool:
        """Count ``verdict`` ``n`` times; True when the caller must start :meth:`write`."""
        with self._lock:
            self._pending[(service_id, verdict)] += n
            if self._writing:
                return False
            self._writing = True
            return True

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(self._pending.values())

    def write(self, sessions: Callable[[], Session]) -> None:
        """Write the pending counts, each round in one transaction, until none is left (on
        a failure they wait for the next count's write, and the failure is logged)."""
        while True:
            with self._lock:
                pending, self._pending = self._pending, Counter()
                if not pending:
                    self._writing = False
                    return
            try:
                with sessions() as session, transaction(session):
                    for (service_id, verdict), n in sorted(pending.items(), key=str):
                        service.count(session, service_id, verdict, n)
            except Exception:
                with self._lock:
                    self._pending.update(pending)
                    self._writing = False
                log.exception("writing screening counts failed; they wait for the next write")
                return
