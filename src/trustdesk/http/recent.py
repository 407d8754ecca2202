"""Answers the HTTP door remembers for a moment: who an API key is, whether a subject may
publish. A hot route asks the database once a second per key or subject instead of once
per request, so a revocation or a withdrawn verification takes effect within ``ttl``
seconds in every process, at the price of nothing per request but a dictionary look-up.

Only answers that let a request through are remembered: a refusal is asked again each
time, so a key issued or an identity verified a moment ago works at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

TTL_SECONDS = 1.0  # how stale a remembered answer may be (revocation honoured within it)
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

    def get(self, key: K) -> V | None:
        """The value remembered for ``key`` less than ``ttl`` seconds ago, or None."""
        seen = self._seen.get(key)
        if seen is None:
            return None
        if self.clock() - seen[0] >= self.ttl:
            self._seen.pop(key, None)
            return None
        return seen[1]

    def put(self, key: K, value: V) -> None:
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen[key] = (self.clock(), value)

    def forget(self, key: K) -> None:
        self._seen.pop(key, None)

    def clear(self) -> None:
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._seen)
