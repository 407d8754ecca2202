"""SQLite writers of one process queue in the process (first come, first served), not on
SQLite's busy handler, whose sleeps let an unlucky writer wait until "database is locked"."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from trustdesk.db.engine import Database, make_engine, read_transaction
from trustdesk.db.writegate import FairLock, WriteGate, gate_of

WAIT_SECONDS = 30.0  # for a condition only: never a measure


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"no {what} within {WAIT_SECONDS} s"
        time.sleep(0.01)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")

    def no_busy_wait(dbapi_connection: Any, _record: Any) -> None:
        # SQLite's own wait off: a writer that met the lock held would fail at once
        dbapi_connection.execute("PRAGMA busy_timeout = 0")

    event.listen(engine, "connect", no_busy_wait)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER)"))
    yield engine
    engine.dispose()


def test_a_second_writer_waits_for_the_first_in_the_process(engine: Engine) -> None:
    gate = gate_of(engine)
    assert isinstance(gate, WriteGate)
    first_in, first_may_commit = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def write(n: int, hold: bool) -> None:
        try:
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                if hold:
                    first_in.set()
                    assert first_may_commit.wait(WAIT_SECONDS)
        except BaseException as exc:  # reported below
            failures.append(exc)

    first = threading.Thread(target=write, args=(1, True))
    first.start()
    assert first_in.wait(WAIT_SECONDS)
    second = threading.Thread(target=write, args=(2, False))
    second.start()
    _until(lambda: gate.waiting == 1, "writer waiting at the gate")
    first_may_commit.set()
    first.join(WAIT_SECONDS)
    second.join(WAIT_SECONDS)
    assert failures == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    assert gate.waiting == 0


def test_readers_never_take_the_gate(tmp_path: Path, engine: Engine) -> None:
    database = Database(engine)
    with engine.begin() as writer:
        writer.execute(text("INSERT INTO t VALUES (1)"))
        # a writer holds the gate: a read transaction still reads its snapshot
        with database.session() as session, read_transaction(session):
            assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0


def test_a_failed_begin_or_a_rollback_gives_the_gate_back(engine: Engine) -> None:
    gate = gate_of(engine)
    assert gate is not None
    with pytest.raises(RuntimeError), engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("a use case failed")
    with engine.begin() as connection:  # would wait for ever if the gate were still held
        connection.execute(text("INSERT INTO t VALUES (2)"))
    other = make_engine(f"sqlite:///{engine.url.database}")
    try:
        with other.begin() as holder:  # another process's writer, as SQLite sees it
            holder.execute(text("INSERT INTO t VALUES (3)"))
            with pytest.raises(OperationalError, match="database is locked"), engine.begin() as c:
                c.execute(text("INSERT INTO t VALUES (4)"))
        with engine.begin() as connection:  # BEGIN failed: the gate was given back
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
    finally:
        other.dispose()


def test_a_waiter_that_gives_up_fails_as_sqlite_would(engine: Engine) -> None:
    gate = gate_of(engine)
    assert gate is not None
    gate.timeout = 0.0
    with engine.begin() as holder:
        holder.execute(text("INSERT INTO t VALUES (1)"))
        outcome: list[BaseException] = []

        def second() -> None:
            try:
                with engine.begin() as connection:
                    connection.execute(text("INSERT INTO t VALUES (2)"))
            except BaseException as exc:  # reported below
                outcome.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(WAIT_SECONDS)
    assert len(outcome) == 1 and "database is locked" in str(outcome[0])


def test_the_fair_lock_passes_to_its_waiters_in_order() -> None:
    lock, order, go = FairLock(), [], threading.Event()
    assert lock.acquire(timeout=0)

    def take(name: str) -> None:
        assert lock.acquire(timeout=WAIT_SECONDS)
        order.append(name)
        assert go.wait(WAIT_SECONDS)
        lock.release()

    threads = []
    for n, name in enumerate("abc"):
        threads.append(threading.Thread(target=take, args=(name,)))
        threads[-1].start()
        _until(lambda n=n: lock.waiting == n + 1, f"waiter {name}")
    lock.release()
    _until(lambda: order == ["a"], "first waiter holding the lock")
    assert not lock.acquire(timeout=0)  # handed to "a": the releaser could not cut in
    go.set()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert order == ["a", "b", "c"]
    assert lock.acquire(timeout=0)  # free again


def test_a_waiter_that_times_out_leaves_the_line() -> None:
    lock = FairLock()
    assert lock.acquire(timeout=0)
    assert not lock.acquire(timeout=0.01)
    assert lock.waiting == 0
    lock.release()
    assert lock.acquire(timeout=0)
