"""PostgreSQL connection pools (issue 15): sized by the settings, steady under concurrency,
no round trip per checkout, and a connection the server closed never reaches a request.

At concurrency 8 the old pool (5 kept, 10 more opened and closed at each peak, a ping on
every checkout) opened 446 sessions in 15 s.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event, text

from trustdesk.db.engine import Database, PoolSizes
from trustdesk.settings import Settings

from support import TemporaryPostgres

THREADS = 8


@pytest.fixture
def postgres() -> Iterator[TemporaryPostgres]:
    database = TemporaryPostgres()
    yield database
    database.drop()


def _admin_query(postgres: TemporaryPostgres, sql: str, **values: Any) -> Any:
    with postgres.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
        return admin.execute(text(sql), values).scalar()


def _backend(database: Database) -> int:
    with database.session() as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        session.commit()
    return int(pid)


def test_the_settings_size_the_pool(postgres: TemporaryPostgres) -> None:
    settings = Settings(
        _env_file=None,
        database_url=postgres.url,
        database_pool_size=3,
        database_max_overflow=1,
        database_pool_recycle_seconds=600,
        secret_key=SecretStr("x" * 40),
    )
    database = Database.from_settings(settings)
    pool: Any = database.engine.pool
    assert (pool.size(), pool._max_overflow, pool._recycle) == (3, 1, 600)
    database.dispose()


def test_eight_threads_reuse_eight_connections(postgres: TemporaryPostgres) -> None:
    database = Database.from_url(postgres.url)
    opened = []
    event.listen(database.engine, "connect", lambda *_: opened.append(1))
    together = threading.Barrier(THREADS)

    def work() -> None:
        for _ in range(10):  # ten peaks: all eight hold a connection at once, then none
            together.wait()
            with database.session() as session:
                session.execute(text("SELECT 1"))
                together.wait()
                session.commit()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.dispose()
    assert len(opened) <= THREADS  # never one opened and closed per peak


def test_a_checkout_costs_no_round_trip(postgres: TemporaryPostgres) -> None:
    database = Database.from_url(postgres.url, PoolSizes(size=1, overflow=0))
    pid = _backend(database)
    with database.engine.connect():  # checked out, nothing executed
        last = _admin_query(
            postgres, "SELECT query FROM pg_stat_activity WHERE pid = :pid", pid=pid
        )
    database.dispose()
    assert last == "COMMIT"  # not a ping's SELECT 1


def test_a_connection_the_server_terminated_is_replaced_unseen(
    postgres: TemporaryPostgres,
) -> None:
    database = Database.from_url(postgres.url, PoolSizes(size=1, overflow=0))
    first = _backend(database)
    assert _admin_query(postgres, "SELECT pg_terminate_backend(:pid)", pid=first)
    for _ in range(100):  # until the backend has gone (its goodbye is on the socket)
        gone = not _admin_query(
            postgres, "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid", pid=first
        )
        if gone:
            break
        time.sleep(0.05)
    second = _backend(database)  # no error: the pool dropped the dead one at checkout
    database.dispose()
    assert second != first
