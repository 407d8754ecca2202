"""The door's durable write: stored with Core, one INSERT per table, no unit of work; and
the keeper, which commits the items of requests that arrive together in one transaction
(each answered only once its group is committed), and lets an item the database refuses
fail alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from trustdesk.db.engine import Database
from trustdesk.screening import service
from trustdesk.screening.engine import Finding, RuleCount, Screening, Verdict
from trustdesk.screening.keeper import Keeper
from trustdesk.screening.models import ContentItem, ScreeningFollowUp
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.screen import ScreenCall, ScreenOutcome

from support import ServiceFactory


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.lower().split()))

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", note)


def blocked(n: int) -> Screening:
    rule = ("gambling", "art6.8", Action.BLOCK, Mode.ENFORCE)
    findings = tuple(Finding(*rule, 10 * k, 10 * k + 5) for k in range(n))
    return Screening(Verdict.BLOCK, findings, "v-test", (RuleCount(*rule, n + 1),), True)


def call(service_id: uuid.UUID, n: int) -> tuple[ScreenCall, ScreenOutcome]:
    item = service.ContentIn.of(f"c-{n}", f"text {n} online casino", f"acct-{n}")
    return ScreenCall(service_id, item, {"n": n}), ScreenOutcome(blocked(2))


def inserts(seen: list[str]) -> list[str]:
    return [s.split("(")[0].removeprefix("insert into ").strip() for s in seen if "insert" in s]


def test_stored_items_are_written_one_insert_per_table_outside_the_unit_of_work(
    database: Database, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    items = [
        service.Screened(service_id, uuid.uuid4(), call(service_id, n)[0].item, blocked(n), {})
        for n in (1, 2, 3)
    ]
    with database.session() as session, statements(database) as seen:
        ids = service.store(session, items)
        # nothing of it in the session: no objects built, flushed or kept
        assert len(session.identity_map) == 0 and not session.new
    assert inserts(seen) == ["content_items", "content_findings", "screening_outbox"]
    assert ids == [i.item_id for i in items]
    with database.session() as session:
        stored = {row.id: row for row in session.scalars(select(ContentItem))}
        for item in items:
            row = stored[item.item_id]
            assert service.screening_of(row) == item.screening
            assert (row.content_id, row.subject, row.log_index) == (
                item.item.content_id,
                item.item.subject,
                service.LOG_PENDING,
            )
        waiting = session.scalar(select(func.count()).select_from(ScreeningFollowUp))
        assert waiting == 3


def test_requests_together_are_kept_in_one_transaction(
    database: Database, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    keeper = Keeper(database, None)

    async def eight() -> list[ScreenOutcome]:
        return await asyncio.gather(*(keeper.keep(*call(service_id, n)) for n in range(8)))

    with statements(database) as seen:
        kept = asyncio.run(eight())
    # one statement per table for the eight items: one transaction
    assert inserts(seen) == ["content_items", "content_findings", "screening_outbox"]
    item_ids = [outcome.item_id for outcome in kept]
    assert None not in item_ids and len(set(item_ids)) == 8
    with database.session() as session:
        stored = dict(session.execute(select(ContentItem.id, ContentItem.content_id)).all())
        contexts = dict(
            session.execute(select(ScreeningFollowUp.item_id, ScreeningFollowUp.context)).all()
        )
    # each request answered with its own item, durable with its follow-up
    assert [stored[i] for i in item_ids if i is not None] == [f"c-{n}" for n in range(8)]
    assert [contexts[i] for i in item_ids if i is not None] == [{"n": n} for n in range(8)]


def test_an_item_the_database_refuses_fails_alone(
    database: Database, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    keeper = Keeper(database, None)
    unknown = uuid.uuid4()  # no such service: its item breaks a foreign key

    async def three() -> list[ScreenOutcome | BaseException]:
        calls = [call(service_id, 0), call(unknown, 1), call(service_id, 2)]
        return await asyncio.gather(*(keeper.keep(*c) for c in calls), return_exceptions=True)

    first, refused, last = asyncio.run(three())
    assert isinstance(refused, IntegrityError)
    assert isinstance(first, ScreenOutcome) and isinstance(last, ScreenOutcome)
    with database.session() as session:
        stored = set(session.scalars(select(ContentItem.id)))
    assert stored == {first.item_id, last.item_id}


def test_a_keeper_serves_one_event_loop_after_another(
    database: Database, make_service: ServiceFactory
) -> None:
    """A test client's loop ends and the next one's begins: the keeper follows."""
    service_id = make_service().service.id
    keeper = Keeper(database, None)
    for n in range(3):
        outcome = asyncio.run(keeper.keep(*call(service_id, n)))
        assert outcome.item_id is not None
