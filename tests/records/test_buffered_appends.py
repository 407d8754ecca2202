"""Buffered appends: an append gives its index and leaf hash at once, and its rows wait on
the transaction's held appender until something in the transaction reads the log, a
savepoint begins, or the transaction commits; then they go as one executemany pair.
Readers in the transaction see them; rollbacks (whole or savepoint) drop them with the
appender; a failed write refuses the rest of the transaction; a crash loses nothing
committed."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tests.records.test_merkle import CT_LEAVES, VECTORS
from tests.support import TemporaryPostgres

from trustdesk.cases.models import Case
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db import migrate
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database, make_engine, transaction
from trustdesk.records import leaf, merkle, pending
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.models import LogEntry
from trustdesk.records.verify import verify_log

KEY_HEX = bytes(range(32)).hex()


class Boom(Exception):
    pass


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement.lower())

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", note)


def _writes(seen: list[str]) -> int:
    return len([s for s in seen if s.startswith("insert into log_entries")])


def _append(session: Session, n: int) -> records.Appended:
    data = {"case_id": str(uuid.uuid4()), "n": n, "subject_digest": leaf.keyed(f"s{n}")}
    return records.append(session, EventType.CASES_DECISION_MADE, service_id=None, data=data)


def _check_tree(session: Session) -> None:
    size = records.size(session)
    hashes = [e.leaf_hash for e in records.entries(session, 0, size)]
    assert [e.index for e in records.entries(session, 0, size)] == list(range(size))
    root = records.root_at(session, size)
    assert root == merkle.root_from_leaves(hashes)
    for index in range(size):
        path = records.inclusion_proof(session, index, size)
        merkle.verify_inclusion(hashes[index], index, size, path, root)


def test_queries_of_other_tables_between_appends_do_not_write_the_log(database: Database) -> None:
    with database.session() as session:
        _append(session, 0)
        start = records.size(session)
        with statements(database) as seen, transaction(session):
            for n in range(20):
                _append(session, n)
                session.execute(select(Case.id).where(Case.id == uuid.uuid4()))
                session.execute(text("SELECT 1"))
            assert _writes(seen) == 0  # all waiting on the held appender
        assert _writes(seen) == 1  # one executemany, at commit
        assert records.size(session) == start + 20
        _check_tree(session)


def test_reads_in_the_appending_transaction_see_the_buffered_entries(database: Database) -> None:
    with database.session() as session, transaction(session):
        first = _append(session, 0)
        assert records.size(session) == first.index + 1
        second = _append(session, 1)
        assert records.entry(session, second.index).leaf_hash == second.leaf_hash
        _append(session, 2)
        assert records.count(session, EventType.CASES_DECISION_MADE) == first.index + 3
        _append(session, 3)
        raw = session.scalar(text("SELECT count(*) FROM log_entries"))
        assert raw == first.index + 4
        _append(session, 3)
        direct = session.connection().execute(text("SELECT count(*) FROM log_entries"))
        assert direct.scalar() == first.index + 5  # on the connection, past the session
        last = _append(session, 4)
        assert last.index == first.index + 5
        types = list(session.scalars(select(LogEntry.type).order_by(LogEntry.index)))
        assert len(types) == last.index + 1
        _append(session, 5)
        assert session.scalar(select(func.max(LogEntry.index))) == last.index + 1
        _append(session, 6)
        _check_tree(session)  # proofs read log_nodes through the store
        _append(session, 7)
        assert records.root_at(session, last.index + 4)  # the subtree hashes are there


def test_a_rollback_drops_the_buffered_rows_and_the_appender(database: Database) -> None:
    with database.session() as session:
        start = records.size(session)
        with pytest.raises(Boom), transaction(session):
            for n in range(5):
                _append(session, n)
            held = session.info[records.HELD]
            assert len(held.entries) == 5
            raise Boom
        assert records.HELD not in session.info
        assert records.size(session) == start
        assert _append(session, 9).index == start
        _check_tree(session)


def test_a_session_closed_mid_transaction_leaves_nothing_on_its_connection(
    database: Database,
) -> None:
    with database.session() as session:
        start = records.size(session)
    with database.session() as session:
        session.begin()
        _append(session, 0)
        info = session.connection().info  # the pooled connection's, outliving the session
        assert info[records.HELD] is session.info[records.HELD]
    assert records.HELD not in info  # closed unseen by commit or rollback events
    with database.session() as session:
        assert records.size(session) == start
        assert _append(session, 1).index == start
        _check_tree(session)


def test_a_rolled_back_savepoint_drops_only_its_own_entries(database: Database) -> None:
    with database.session() as session:
        start = records.size(session)
        with transaction(session):
            before = _append(session, 0)  # buffered when the savepoint begins
            with pytest.raises(Boom), session.begin_nested():
                _append(session, 1)
                with session.begin_nested():  # released: its entry belongs to the outer one
                    _append(session, 2)
                raise Boom
            assert records.HELD not in session.info
            after = _append(session, 3)
            assert after.index == before.index + 1
            with session.begin_nested():  # released: kept
                kept = _append(session, 4)
        assert kept.index == start + 2
        assert records.size(session) == start + 3
        leaves = [
            json.loads(e.leaf)["data"]["n"] for e in records.entries(session, start, start + 3)
        ]
        assert leaves == [0, 3, 4]
        _check_tree(session)


def _plant(session: Session, index: int) -> None:
    """A row behind the appender's back, at an index it hands out next: writing the
    buffered rows then fails on the primary key."""
    row = {"index": index, "type": "x", "service_id": None, "leaf": b"{}"}
    row |= {"recorded_at": utcnow(), "leaf_hash": bytes(32)}
    session.connection().execute(insert(LogEntry.metadata.tables["log_entries"]), row)


def test_a_failed_write_refuses_the_rest_of_the_transaction(database: Database) -> None:
    with database.session() as session:
        start = records.size(session)
        with pytest.raises(pending.LogWriteFailed), transaction(session):
            _append(session, 0)
            _plant(session, start + 1)
            _append(session, 1)
            with pytest.raises(IntegrityError):
                records.size(session)  # the read writes the buffered rows first
            held = session.info[records.HELD]
            assert held.failed is not None and held.appender is None
            with pytest.raises(pending.LogWriteFailed):
                _append(session, 2)  # it would hand out an index again
            session.commit()  # refused too: indexes were handed out with no rows
        assert records.HELD not in session.info
        assert records.size(session) == start
        assert _append(session, 3).index == start
        _check_tree(session)


def test_a_failed_write_in_a_savepoint_still_refuses_the_commit(database: Database) -> None:
    with database.session() as session:
        start = records.size(session)
        with pytest.raises(pending.LogWriteFailed), transaction(session):
            _append(session, 0)
            with pytest.raises(IntegrityError), session.begin_nested():
                _plant(session, start + 2)
                _append(session, 1)
                _append(session, 2)
                records.size(session)
            with pytest.raises(pending.LogWriteFailed):
                _append(session, 3)
            session.commit()
        assert records.size(session) == start


def _vector(kind: str) -> list[dict[str, Any]]:
    paths = sorted((VECTORS / kind).rglob("happy-path.json"))
    return [json.loads(path.read_text(encoding="utf-8")) for path in paths]


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def test_a_tree_written_through_the_buffer_gives_the_rfc9162_vectors(database: Database) -> None:
    with database.session() as session, transaction(session):
        assert records.size(session) == 0, "the vectors' tree starts at leaf 0"
        records.append_many(session, [])  # takes the lock and restores the (empty) edge
        held = session.info[records.HELD]
        moment = utcnow()
        raw = [(leaf.Event("test:vector", None, {}), data) for data in CT_LEAVES]
        appended = pending.buffer(held, raw, moment)
        assert [a.leaf_hash for a in appended] == [merkle.leaf_hash(d) for d in CT_LEAVES]
        inclusions, consistencies = _vector("inclusion"), _vector("consistency")
        assert inclusions and consistencies
        for v in inclusions:
            path = records.inclusion_proof(session, v["leafIdx"], v["treeSize"])
            assert path == [_b64(h) for h in v["proof"] or []]
            assert records.root_at(session, v["treeSize"]) == _b64(v["root"])
            merkle.verify_inclusion(
                _b64(v["leafHash"]), v["leafIdx"], v["treeSize"], path, _b64(v["root"])
            )
        for v in consistencies:
            proof = records.consistency_proof(session, v["size1"], v["size2"])
            assert proof == [_b64(h) for h in v["proof"] or []]
            assert records.root_at(session, v["size1"]) == _b64(v["root1"])


CHILD = textwrap.dedent(
    """
    import os, signal, sys, uuid
    from trustdesk.crypto.logdigest import LogDigestKey
    from trustdesk.db.engine import Database, transaction
    from trustdesk.records import service as records
    from trustdesk.records.events import EventType

    url, key = sys.argv[1], bytes.fromhex(sys.argv[2])
    database = Database.from_url(url)
    records.use_digest_key(database, LogDigestKey(key))

    def append(session, n):
        data = {"case_id": str(uuid.uuid4()), "n": n}
        records.append(session, EventType.CASES_DECISION_MADE, service_id=None, data=data)

    with database.session() as session:
        with transaction(session):
            for n in range(5):
                append(session, n)
        session.begin()
        for n in range(5, 9):
            append(session, n)
        print(len(session.info[records.HELD].entries), flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.fixture
def url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'log.db'}"
        return
    postgres = TemporaryPostgres()
    try:
        yield postgres.url
    finally:
        postgres.drop()


def test_a_crash_between_buffer_and_commit_loses_nothing_committed(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, KEY_HEX],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.strip() == "4"  # four entries buffered when it died
    database = Database(engine)
    records.use_digest_key(database, LogDigestKey(bytes.fromhex(KEY_HEX)))
    with database.session() as session:
        assert records.size(session) == 5
        ns = [json.loads(e.leaf)["data"]["n"] for e in records.entries(session, 0, 5)]
        assert ns == [0, 1, 2, 3, 4]
        assert _append(session, 5).index == 5
        _check_tree(session)
        assert verify_log(session, [], "test").problems == []
    database.dispose()
