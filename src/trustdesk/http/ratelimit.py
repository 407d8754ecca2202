"""A per-client request budget for the routes anyone may call without an account.

Fixed one-minute windows kept in the process (enough for one server process; several
workers each keep their own, so the effective limit is per worker). Old windows are
dropped as they pass, so memory stays bounded by the clients of the last minute.
"""

from __future__ import annotations

import threading
import time

from starlette.requests import HTTPConnection

from trustdesk.errors import RateLimited


def client_address(connection: HTTPConnection) -> str:
    """The address a request's budget is counted against: the connecting peer, or, when
    that peer is one of ``TRUSTDESK_FORWARDED_ALLOW_IPS``, the client its
    ``X-Forwarded-For`` names (``create_app`` installs the proxy middleware only then;
    ``trustdesk serve`` turns off uvicorn's own, which trusts loopback by default)."""
    return connection.client.host if connection.client else "unknown"


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._window = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def check(self, client: str, now: float | None = None) -> None:
        """Count one request from ``client``; :class:`RateLimited` past the budget."""
        window = int((time.monotonic() if now is None else now) // 60)
        with self._lock:
            if window != self._window:
                self._window, self._counts = window, {}
            count = self._counts.get(client, 0) + 1
            self._counts[client] = count
        if count > self.per_minute:
            msg = f"at most {self.per_minute} requests a minute from one address; try again soon"
            raise RateLimited(msg)
