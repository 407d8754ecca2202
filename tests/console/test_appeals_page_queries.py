"""The senior's appeals page reads as many statements for twenty pending appeals as for
one: the decisions come with the appeals, and each service's packs are looked up once."""

from __future__ import annotations

from console_support import Visitor

from trustdesk.db.engine import Database

from desk import Desk
from support import statements


def _page(visitor: Visitor, database: Database) -> tuple[str, int]:
    """The page and the statements it took; the least of three readings, so that a service's
    packs, remembered for a second, count in none of them (the page shows them always)."""
    counts = []
    for _ in range(3):
        with statements(database) as sent:
            page = visitor.get("/console/appeals")
        assert page.status_code == 200, page.text
        counts.append(len(sent))
    return page.text, min(counts)


def test_the_appeals_page_takes_as_many_statements_for_twenty_as_for_one(
    visitor: Visitor, desk: Desk, database: Database
) -> None:
    first = desk.appeals(["m-0"])
    visitor.sign_in("senior.one")
    one, for_one = _page(visitor, database)
    assert one.count('action="/console/appeals/') == 1 and first[0] in one
    rest = desk.appeals([f"m-{n}" for n in range(1, 20)])
    twenty, for_twenty = _page(visitor, database)
    assert all(appeal in twenty for appeal in first + rest)
    assert twenty.count('action="/console/appeals/') == 20
    assert for_twenty == for_one, (for_one, for_twenty)
