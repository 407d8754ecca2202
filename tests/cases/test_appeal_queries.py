"""The pending appeals are read in a fixed number of statements, however many there are:
each appeal's decision comes in the same query (at most 100 of each were read one by one)."""

from __future__ import annotations

from trustdesk.cases import appeals
from trustdesk.db.engine import Database

from desk import Desk
from support import statements


def _pending(database: Database) -> tuple[list[tuple[str, str]], int]:
    with database.session() as session, statements(database) as sent:
        found = appeals.pending_appeals(session)
        shown = [(str(a.id), d.facts) for a, d in found]  # the decisions' fields, as pages do
    return shown, len(sent)


def test_pending_appeals_take_as_many_statements_for_twenty_as_for_one(
    desk: Desk, database: Database
) -> None:
    first = desk.appeals(["m-0"])
    one, for_one = _pending(database)
    assert one == [(first[0], "A scam.")]
    rest = desk.appeals([f"m-{n}" for n in range(1, 20)])
    twenty, for_twenty = _pending(database)
    assert [appeal for appeal, _ in twenty] == first + rest  # oldest first, each with its own
    assert {facts for _, facts in twenty} == {"A scam."}
    assert for_one >= 1
    assert for_twenty == for_one, (for_one, for_twenty)
