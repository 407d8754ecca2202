"""Refreshes that run behind the request that started them.

What the HTTP door remembers (a key's service, a subject's gate, a service's active rule
set) is refreshed ahead of its end by one request of many (:mod:`trustdesk.http.recent`).
That request has a valid answer already: it answers from memory, and the refresh goes to
a thread of its own here. Awaited on a worker thread instead, the refresh made its request
wait for the interpreter lock with a busy event loop at every query step, tens of
milliseconds under load, which was most of the clean door's tail.

The thread is one, shared by the process (a refresh is one or two short queries),
and a refresh that fails is logged: the answer then expires at its end as if it had not
been refreshed, and the next request asks on its own path.

Only a server process refreshes behind its requests (:func:`start`, from the app's start
when it is one): an app built for tests shares one database connection among its
requests, which a refresh running beside them would use at the same time. Elsewhere the
request told to refresh does it on its own path, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

log = logging.getLogger("trustdesk.http")

THREADS = 1  # a refresh is one or two short queries, a few a second at most: one at a time


class _Refreshes:
    """The process's refresh thread (started with the first refresh) and what it runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: set[Future[object]] = set()
        self.on = False

    def submit(self, work: Callable[[], object]) -> Future[object]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="trustdesk-refresh")
            future: Future[object] = self._pool.submit(work)
            self._pending.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[object]) -> None:
        with self._lock:
            self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("a refresh behind a request failed", exc_info=future.exception())

    def pending(self) -> list[Future[object]]:
        with self._lock:
            return list(self._pending)


_refreshes = _Refreshes()


def start() -> None:
    """Refresh behind requests from now on (a server process, once started)."""
    _refreshes.on = True


def stop(timeout: float | None = None) -> bool:
    """Refresh on the requests' own path again, and wait for the refreshes in flight (a
    server stopping, before it closes its database); True if none is left."""
    _refreshes.on = False
    return settle(timeout)


def refresh(work: Callable[[], object]) -> bool:
    """Run ``work`` on a refresh thread, without waiting for it; False (and nothing run)
    when this process does not refresh behind requests: the caller then does it."""
    if not _refreshes.on:
        return False
    _refreshes.submit(work)
    return True


def settle(timeout: float | None = None) -> bool:
    """Wait for the refreshes in flight; True if none is left."""
    return not wait(_refreshes.pending(), timeout).not_done
