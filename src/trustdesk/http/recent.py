"""Answers the HTTP door remembers for a moment: who an API key is, whether a subject may
publish. A hot route asks the database once a second per key or subject instead of once
per request, so a revocation or a withdrawn verification takes effect within ``ttl``
seconds in every process, at the price of nothing per request but a dictionary look-up.

Only answers that let a request through are remembered: a refusal is asked again each
time, so a key issued or an identity verified a moment ago works at once.

An answer is refreshed ahead of its end: past half its life, the first caller to look it up
is told to refresh it (:meth:`Recent.look`) while every caller, that one included, still
gets it. So a busy key or subject never expires under load, where every request in flight
would ask at once each second; and the refresh runs behind the request that started it
(:mod:`trustdesk.http.behind`), which answers from memory like the others: a request that
waited for it, on a worker thread competing for the interpreter with a busy event loop,
took tens of milliseconds where the others took one (the door's p99 under load).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

TTL_SECONDS = 1.0  # how stale a remembered answer may be (revocation honoured within it)
REFRESH_AT = 0.5  # of the TTL: past it, one caller asks again while the others still use it
SIZE = 100_000  # answers kept at most (forgotten all at once past it: a memory bound)


class Recent(Generic[K, V]):
    """Values remembered for ``ttl`` seconds of ``clock`` (tests give a clock they move)."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        size: int = SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._seen: dict[K, tuple[float, V]] = {}
        self._refreshing: set[K] = set()

    def look(self, key: K) -> tuple[V | None, bool]:
        """The value remembered for ``key`` less than ``ttl`` seconds ago (None: not
        remembered, or too old), and whether this caller is to refresh it: True once past
        half its life, for the first caller to look (who may still use the value)."""
        seen = self._seen.get(key)
        if seen is None:
            return None, False
        age = self.clock() - seen[0]
        if age >= self.ttl:
            self._seen.pop(key, None)
            return None, False
        if age >= self.ttl * REFRESH_AT and key not in self._refreshing:
            self._refreshing.add(key)  # (a race lets two callers refresh: harmless)
            return seen[1], True
        return seen[1], False

    def get(self, key: K) -> V | None:
        """The value remembered for ``key`` less than ``ttl`` seconds ago, or None: not
        remembered, too old, or (once, past half its life) this caller is to refresh it."""
        value, refresh = self.look(key)
        return None if refresh else value

    def put(self, key: K, value: V) -> None:
        if len(self._seen) >= self.size:
            self._seen.clear()
            self._refreshing.clear()
        self._seen[key] = (self.clock(), value)
        self._refreshing.discard(key)

    def forget(self, key: K) -> None:
        self._seen.pop(key, None)
        self._refreshing.discard(key)

    def clear(self) -> None:
        self._seen.clear()
        self._refreshing.clear()

    def __len__(self) -> int:
        return len(self._seen)
