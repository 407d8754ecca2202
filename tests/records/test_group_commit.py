"""Group-committed appends: many appends in one transaction take the log's lock and read
the tree's right edge once, and the tree they build is still RFC 9162's (proofs verify);
a transaction or savepoint that rolls back leaves no appender behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from trustdesk.db.engine import Database, transaction
from trustdesk.records import merkle
from trustdesk.records import service as records
from trustdesk.records.events import EventType


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


def _append(session: Session, n: int) -> records.Appended:
    data = {"case_id": str(uuid.uuid4()), "n": n}
    return records.append(session, EventType.CASES_DECISION_MADE, service_id=None, data=data)


def _check_tree(session: Session) -> None:
    """The stored tree is the reference tree of the stored leaves, and proofs verify."""
    size = records.size(session)
    hashes = [e.leaf_hash for e in records.entries(session, 0, size)]
    assert len(hashes) == size
    root = records.root_at(session, size)
    assert root == merkle.root_from_leaves(hashes)
    for index in (0, size // 2, size - 1):
        path = records.inclusion_proof(session, index, size)
        merkle.verify_inclusion(hashes[index], index, size, path, root)
    for first in {1, max(1, size // 3), max(1, size - 1)}:
        proof = records.consistency_proof(session, first, size)
        merkle.verify_consistency(first, size, proof, records.root_at(session, first), root)


def test_a_hundred_appends_in_one_transaction_read_the_edge_once_and_write_once(
    database: Database,
) -> None:
    with database.session() as session:
        for n in range(3):  # a log with a right edge to read
            _append(session, n)
        start = records.size(session)
        with statements(database) as seen, transaction(session):
            appended = [_append(session, n) for n in range(100)]
        assert [a.index for a in appended] == list(range(start, start + 100))
        node_reads = [s for s in seen if s.startswith("select") and "from log_nodes" in s]
        size_reads = [s for s in seen if s.startswith("select") and "from log_entries" in s]
        locks = [s for s in seen if "pg_advisory_xact_lock" in s]
        assert len(node_reads) == 1, node_reads
        assert len(size_reads) == 1
        assert len(locks) == (1 if database.engine.dialect.name == "postgresql" else 0)
        # the rows are written together: one executemany of entries, one of nodes
        assert len([s for s in seen if s.startswith("insert into log_entries")]) == 1
        assert len([s for s in seen if s.startswith("insert into log_nodes")]) == 1
        _check_tree(session)


def test_a_rolled_back_transaction_leaves_no_stale_appender(database: Database) -> None:
    with database.session() as session:
        _append(session, 0)
        start = records.size(session)
        with pytest.raises(Boom), transaction(session):
            for n in range(5):
                _append(session, n)
            assert records.HELD in session.info
            raise Boom
        assert records.HELD not in session.info
        assert records.size(session) == start
        assert _append(session, 9).index == start
        assert records.HELD not in session.info  # dropped at commit
        _check_tree(session)


def test_a_rolled_back_savepoint_leaves_no_stale_appender(database: Database) -> None:
    with database.session() as session:
        start = records.size(session)
        with transaction(session):
            _append(session, 0)
            with pytest.raises(Boom), session.begin_nested():
                _append(session, 1)
                _append(session, 2)
                raise Boom
            assert _append(session, 3).index == start + 1
        assert records.size(session) == start + 2
        _check_tree(session)
