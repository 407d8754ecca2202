"""A per-client request budget for the routes anyone may call without an account.

Fixed one-minute windows of the wall clock. With a database (the server's), the windows
are shared by every process and host on it (:mod:`trustdesk.db.windows`): each request
adds one to its client's row and is refused past the budget, wherever it lands. Each
process also counts its own requests first, and refuses without asking the database once
its own count alone is past the budget (a flood from one address costs no writes). Rows
of past windows are deleted as windows pass, so the table holds about one minute's
clients, as each process's memory does. Without a database the budget is per process.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from starlette.requests import HTTPConnection

from trustdesk.db import windows
from trustdesk.db.engine import Database
from trustdesk.errors import RateLimited

log = logging.getLogger("trustdesk.ratelimit")
WINDOW_SECONDS = 60


def client_address(connection: HTTPConnection) -> str:
    """The address a request's budget is counted against: the connecting peer, or, when
    that peer is one of ``TRUSTDESK_FORWARDED_ALLOW_IPS``, the client its
    ``X-Forwarded-For`` names (``create_app`` installs the proxy middleware only then;
    ``trustdesk serve`` turns off uvicorn's own, which trusts loopback by default)."""
    return connection.client.host if connection.client else "unknown"


class RateLimiter:
    """``per_minute`` requests a client; shared through ``database`` under ``name``."""

    def __init__(
        self,
        per_minute: int,
        database: Database | None = None,
        name: str = "requests",
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.database, self.name = database, name
        self.clock = clock  # the wall clock (tests hold one still inside a window)
        self._window = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, client: str, now: float | None = None) -> None:
        """Count one request from ``client``; :class:`RateLimited` past the budget."""
        moment = self.clock() if now is None else now
        window = int(moment // WINDOW_SECONDS)
        with self._lock:
            new_window = window != self._window
            if new_window:
                self._window, self._counts = window, {}
            count = self._counts.get(client, 0) + 1
            self._counts[client] = count
        if count <= self.per_minute and self.database is not None:
            count = self._shared_count(client, window, purge=new_window)
        if count > self.per_minute:
            msg = f"at most {self.per_minute} requests a minute from one address; try again soon"
            raise RateLimited(msg, retry_after=math.ceil((window + 1) * WINDOW_SECONDS - moment))

    def _shared_count(self, client: str, window: int, *, purge: bool) -> int:
        """The count of every process; this process's own if the database fails (the
        request will likely fail too, but the limit must not be what breaks it)."""
        assert self.database is not None
        try:
            if purge:
                windows.purge(self.database, window)
            return windows.add(self.database, self.name, client, window)
        except Exception:
            log.exception("the shared rate window did not answer; counting in this process")
            with self._lock:
                return self._counts.get(client, 0)
