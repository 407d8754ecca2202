"""The record log in the database: appends, atomicity, proofs, checkpoints, append-only."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from trustdesk.db.engine import Database, transaction
from trustdesk.errors import InvalidInput
from trustdesk.records import leaf, merkle
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.records.models import LogEntry, LogNode
from trustdesk.records.note import NoteSigner, generate_signer, open_checkpoint, parse_signer_key

ORIGIN = "test.example/log"
EVENT = EventType.COMPLIANCE_SERVICE_CREATED


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return parse_signer_key(generate_signer(ORIGIN)[0])


def fill(database: Database, count: int) -> list[records.Appended]:
    service_id = uuid.uuid4()
    events = [leaf.Event(EVENT, service_id, {"n": n}) for n in range(count)]
    with database.session() as session:
        return records.append_many(session, events)


def all_leaf_hashes(database: Database) -> list[bytes]:
    with database.session() as session:
        return list(session.scalars(select(LogEntry.leaf_hash).order_by(LogEntry.index)))


def test_leaves_are_canonical_json_with_rfc9162_hashes(database: Database) -> None:
    service_id = uuid.uuid4()
    moment = datetime(2026, 11, 29, 8, 30, 1, 250000, tzinfo=UTC)
    with database.session() as session:
        appended = records.append(
            session, EVENT, service_id=service_id, data={"z": 1, "a": ["x", None]}, now=moment
        )
        stored = records.entry(session, appended.index)
    expected = (
        '{"data":{"a":["x",null],"z":1},"service":"' + str(service_id) + '",'
        '"time":"2026-11-29T08:30:01.250000Z","type":"compliance:service:created"}'
    ).encode()
    assert stored.leaf == expected
    assert stored.leaf_hash == merkle.leaf_hash(expected) == appended.leaf_hash


@pytest.mark.parametrize(
    "data",
    [
        {"score": 0.5},
        {"Name": "x"},
        {"name": "x" * 600},
        {"blob": b"bytes"},
        {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
        {"items": list(range(5000))},
    ],
)
def test_event_data_outside_the_rules_is_refused(database: Database, data: dict) -> None:  # type: ignore[type-arg]
    with database.session() as session, pytest.raises(InvalidInput):
        records.append(session, EVENT, service_id=None, data=data)
    with database.session() as session:
        assert records.size(session) == 0


def test_a_rolled_back_change_takes_its_entry_with_it(database: Database) -> None:
    fill(database, 3)
    with database.session() as session, pytest.raises(RuntimeError), transaction(session):
        records.append(session, EVENT, service_id=None, data={"n": 99})
        raise RuntimeError("the change failed")
    with database.session() as session:
        assert records.size(session) == 3
        assert (
            session.scalar(select(LogNode.index).where(LogNode.level == 0, LogNode.index == 3))
            is None
        )


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 9, 33])
def test_proofs_match_the_reference_and_verify(database: Database, count: int) -> None:
    appended = fill(database, count)
    leaves = all_leaf_hashes(database)
    assert leaves == [a.leaf_hash for a in appended]
    with database.session() as session:
        for size in range(1, count + 1):
            root = records.root_at(session, size)
            assert root == merkle.root_from_leaves(leaves[:size])
            for index in range(size):
                proof = records.inclusion_proof(session, index, size)
                assert proof == merkle.inclusion_proof_from_leaves(index, leaves[:size])
                merkle.verify_inclusion(leaves[index], index, size, proof, root)
            for first in range(1, size + 1):
                proof = records.consistency_proof(session, first, size)
                merkle.verify_consistency(
                    first, size, proof, merkle.root_from_leaves(leaves[:first]), root
                )


def test_appends_in_separate_transactions_build_the_same_tree(database: Database) -> None:
    for n in range(12):
        with database.session() as session:
            records.append(session, EVENT, service_id=None, data={"n": n})
    leaves = all_leaf_hashes(database)
    with database.session() as session:
        assert records.root_at(session, 12) == merkle.root_from_leaves(leaves)
        stored = session.scalar(select(LogNode.hash).where(LogNode.level == 2, LogNode.index == 2))
    assert stored == merkle.root_from_leaves(leaves[8:12])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0), (0, 4), (5, 2)])
def test_impossible_inclusion_proofs_are_refused(database: Database, index: int, size: int) -> None:
    fill(database, 3)
    with database.session() as session, pytest.raises(records.InvalidProofRequest):
        records.inclusion_proof(session, index, size)


@pytest.mark.parametrize(("first", "second"), [(0, 2), (3, 2), (1, 4), (-1, 1)])
def test_impossible_consistency_proofs_are_refused(
    database: Database, first: int, second: int
) -> None:
    fill(database, 3)
    with database.session() as session, pytest.raises(records.InvalidProofRequest):
        records.consistency_proof(session, first, second)


def test_checkpoints_are_signed_notes_of_the_current_root(
    database: Database, signer: NoteSigner
) -> None:
    with database.session() as session:
        empty = records.make_checkpoint(session, signer, ORIGIN)
    assert empty.size == 0
    assert empty.root_hash == merkle.EMPTY_ROOT
    fill(database, 5)
    with database.session() as session:
        view = records.make_checkpoint(session, signer, ORIGIN)
        again = records.make_checkpoint(session, signer, ORIGIN)
        latest = records.latest_checkpoint(session)
    assert view == again == latest
    opened = open_checkpoint(view.note, [signer.verifier], origin=ORIGIN)
    assert opened.size == 5
    assert opened.root_hash == merkle.root_from_leaves(all_leaf_hashes(database))
    assert opened.extensions[0].startswith("time ")


def test_entries_are_paged_and_filtered_by_service(database: Database) -> None:
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    with database.session() as session:
        records.append_many(
            session, [leaf.Event(EVENT, mine if n % 2 else theirs, {"n": n}) for n in range(10)]
        )
        assert [e.index for e in records.entries(session, 2, 6)] == [2, 3, 4, 5]
        assert [e.index for e in records.entries(session, 0, 10, service_id=mine)] == [
            1,
            3,
            5,
            7,
            9,
        ]
        assert records.entries(session, 50, 60) == []
        assert len(records.entries(session, 0, 10**9)) == 10
        with pytest.raises(records.InvalidProofRequest):
            records.entries(session, 5, 2)
        with pytest.raises(records.EntryNotFound):
            records.entry(session, 10)
        first = json.loads(records.entry(session, 1).leaf)
    assert first["service"] == str(mine)


def test_the_log_tables_refuse_updates_and_deletes(database: Database) -> None:
    fill(database, 2)
    for statement in (
        update(LogEntry).values(type="x"),
        delete(LogEntry),
        update(LogNode).values(hash=b"0" * 32),
        delete(LogNode),
    ):
        with (
            database.session() as session,
            pytest.raises(DBAPIError, match="append-only"),
            transaction(session),
        ):
            session.execute(statement)
    with database.session() as session:
        assert records.size(session) == 2
        assert session.execute(text("SELECT count(*) FROM log_nodes")).scalar() == 3
