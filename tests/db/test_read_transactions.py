"""Read transactions (issue 13, point 7): a long read never fails a writer, and a read use
case cannot write.

On SQLite every transaction used to begin ``IMMEDIATE``, so a read held for longer than the
busy timeout (5 s), such as ``log verify`` on a large log, made concurrent writers fail with
"database is locked". Each test runs on its own migrated database file (or PostgreSQL
database), with real connections: the rolled-back shared connection of the ``database``
fixture cannot show two connections contending.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from trustdesk.db.engine import Database, ReadOnlyTransaction, read_transaction
from trustdesk.records import leaf, verify
from trustdesk.records import service as records
from trustdesk.records.note import generate_signer, parse_signer_key

ORIGIN = "read.test/log"
HOLD_SECONDS = 6.0  # longer than SQLite's busy timeout (5 s): a writer waiting that long fails


def append(database: Database, n: int, service: uuid.UUID) -> None:
    with database.session() as session:
        records.append_many(
            session, [leaf.Event("test:entry:made", service, {"n": i}) for i in range(n)]
        )


def test_a_read_transaction_refuses_writes_and_leaves_the_next_one_free(
    fresh: Database,
) -> None:
    service = uuid.uuid4()
    append(fresh, 3, service)
    with fresh.session() as session:
        with read_transaction(session):
            assert records.size(session) == 3
            with pytest.raises(ReadOnlyTransaction):  # the session refuses the statement
                records.append(session, "test:entry:made", service_id=service, data={})
        with read_transaction(session), pytest.raises(DBAPIError):  # and so does the database
            session.execute(text("DELETE FROM alembic_version"))
        records.append(session, "test:entry:made", service_id=service, data={"n": 3})
        assert records.size(session) == 4


def test_a_long_read_never_fails_a_writer(fresh: Database) -> None:
    service = uuid.uuid4()
    append(fresh, 1, service)
    reading = threading.Event()
    seen: list[int] = []

    def reader() -> None:
        with fresh.session() as session, read_transaction(session):
            seen.append(records.size(session))
            reading.set()
            deadline = time.monotonic() + HOLD_SECONDS
            while time.monotonic() < deadline:
                seen.append(len(records.entries(session, 0, 10_000)))
                time.sleep(0.2)

    thread = threading.Thread(target=reader)
    thread.start()
    assert reading.wait(30)
    written, failures = 0, []
    while thread.is_alive():
        try:
            append(fresh, 1, service)
            written += 1
        except Exception as exc:
            failures.append(repr(exc))
        time.sleep(0.02)
    thread.join()
    assert failures == []
    assert written >= 10, written  # the writer was not held up for the read's duration
    assert len(seen) > 10
    if fresh.engine.dialect.name == "sqlite":
        assert set(seen) == {1}  # the reader kept its snapshot while the log grew
    with fresh.session() as session:
        assert records.size(session) == 1 + written


def test_log_verify_runs_beside_writers(
    fresh: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify, "CHUNK", 25)  # many short reads instead of one long one
    signer = parse_signer_key(generate_signer(ORIGIN)[0])
    service = uuid.uuid4()
    for _ in range(4):
        append(fresh, 50, service)
        with fresh.session() as session:
            records.make_checkpoint(session, signer, ORIGIN)
    written: list[int] = []

    def write_meanwhile(_entries: int) -> None:
        append(fresh, 5, service)  # another connection, between two chunks of the walk
        with fresh.session() as other:
            records.make_checkpoint(other, signer, ORIGIN)
        written.append(5)

    with fresh.session() as session:
        report = verify.verify_log(session, [signer.verifier], ORIGIN, progress=write_meanwhile)
    assert report.problems == []
    assert report.entries == 200  # the log as it stood when verification began
    assert report.checkpoints == 4  # at 50, 100, 150 and 200 entries
    assert len(written) == 8
    with fresh.session() as session:
        assert records.size(session) == 240
        again = verify.verify_log(session, [signer.verifier], ORIGIN)
    assert again.ok
    assert again.entries == 240
