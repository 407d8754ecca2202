"""One SQLite writer at a time in a process, queued in the process rather than on the file.

SQLite has one writer at a time. A connection that finds the write lock taken does not
queue for it: its busy handler sleeps and tries again, sleeping longer each time (1, 2, 5
... 100 ms), until ``busy_timeout``. Under many concurrent writers the lock is often free
while every waiter sleeps, and an unlucky waiter keeps losing to fresh arrivals: at 32
writer threads its p99 wait was 0.8 s and its longest near 5 s, where it fails with
"database is locked" (an HTTP 500).

So the writers of one process (an engine's connections) take a :class:`WriteGate` first,
at ``BEGIN IMMEDIATE``, and give it back after their ``COMMIT`` or ``ROLLBACK``: they wait
in line (first come, first served: the gate is handed to the next waiter, so a thread that
writes again at once cannot cut in), and only the gate's holder meets SQLite's lock, which
then only other processes contend for. Read transactions (deferred, a WAL snapshot) never
take the gate.

A waiter gives up on the gate after ``timeout`` seconds and asks SQLite without waiting, so
it fails as it did before the gate ("database is locked", in the same time). A thread that
already holds the gate through another connection does not wait for it (it would wait for
itself): SQLite's own wait decides, as before.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections import deque
from typing import Any

from sqlalchemy import Connection, Engine

BUSY_MILLISECONDS = 5000  # SQLite's busy_timeout on every connection


class FairLock:
    """A lock taken in the order it was asked for: released, it passes to the longest
    waiter directly (a plain lock lets the releasing thread, or any thread running at
    that moment, take it again before the waiter it woke runs)."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over
        with self._mutex:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                return False
        return True  # handed over as the wait ended

    @property
    def waiting(self) -> int:
        """Threads waiting for the lock now."""
        return len(self._waiters)

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # still held: now by that waiter
            else:
                self._held = False


class WriteGate:
    """The right to write, one connection of the process at a time."""

    def __init__(self, timeout: float = BUSY_MILLISECONDS / 1000) -> None:
        self.timeout = timeout
        self._lock = FairLock()
        self._owner: int | None = None  # the thread whose connection holds it

    @property
    def waiting(self) -> int:
        """Writers of the process waiting for the gate now."""
        return self._lock.waiting

    def connection_class(self) -> type[sqlite3.Connection]:
        """The DBAPI connection class (``sqlite3.connect(factory=...)``) that gives the
        gate back when its transaction ends, or when it is closed in one."""
        gate = self

        class GatedConnection(sqlite3.Connection):
            holds_gate = False

            def commit(self) -> None:
                try:
                    super().commit()
                finally:
                    gate.leave(self)

            def rollback(self) -> None:
                try:
                    super().rollback()
                finally:
                    gate.leave(self)

            def close(self) -> None:
                try:
                    super().close()
                finally:
                    gate.leave(self)

        return GatedConnection

    def begin(self, connection: Connection) -> None:
        """``BEGIN IMMEDIATE`` on ``connection``, through the gate."""
        dbapi: Any = connection.connection.dbapi_connection
        if self._owner == threading.get_ident():  # this thread writes already, elsewhere
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        if not self._lock.acquire(timeout=self.timeout):
            _begin_without_waiting(connection)  # fails as SQLite would have, by now
            return
        self._owner, dbapi.holds_gate = threading.get_ident(), True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.leave(dbapi)
            raise

    def leave(self, dbapi: Any) -> None:
        """Give the gate back if ``dbapi`` (a connection of this gate's class) holds it."""
        if dbapi.holds_gate:
            dbapi.holds_gate = False
            self._owner = None
            self._lock.release()


_GATES: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()


def gated(engine: Engine, gate: WriteGate) -> None:
    """Remember ``gate`` as ``engine``'s (see :func:`gate_of`)."""
    _GATES[engine] = gate


def gate_of(engine: Engine) -> WriteGate | None:
    """The write gate of an SQLite engine (None: another database, no gate)."""
    return _GATES.get(engine)


def _begin_without_waiting(connection: Connection) -> None:
    connection.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {BUSY_MILLISECONDS}")
