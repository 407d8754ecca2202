"""The garbage collector of a serving process, settled after warm-up so that it does not
stall requests.

A worker holds a few hundred thousand long-lived objects (compiled rule sets, the app,
SQLAlchemy's mappers). CPython's collector walks all of them in each full collection, and
a request allocates enough to trigger one every few seconds under load: each stalled the
event loop, and every request in flight with it, for tens to hundreds of milliseconds (the
door's p99 under load). Once the worker has loaded what it serves with, :func:`settle`
collects once and freezes what is left (``gc.freeze``): those objects are never walked
again, so a full collection looks only at what came after. The youngest generation is
also collected less often (a request's short-lived objects die by reference count; what
the collector walks is what survives), which cuts the number of pauses without making
each one long.

Only a server process settles (``trustdesk serve``, the factory): a test process builds
and drops many apps, and frozen objects are never collected.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

GEN0_THRESHOLD = 20_000  # allocations (less deallocations) of tracked objects per young pass
# (CPython's default is 700: under load, a young collection every two or three requests)


@dataclass(frozen=True, slots=True)
class Settled:
    """What :func:`settle` changed, so that :func:`unsettle` can put it back."""

    thresholds: tuple[int, int, int]


def settle(gen0_threshold: int = GEN0_THRESHOLD) -> Settled:
    """Collect, freeze what survives, and collect the youngest generation less often."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(gen0_threshold, before[1], before[2])
    return Settled(before)


def unsettle(settled: Settled) -> None:
    """Undo :func:`settle` (at shutdown): the frozen objects may be collected again."""
    gc.unfreeze()
    gc.set_threshold(*settled.thresholds)
