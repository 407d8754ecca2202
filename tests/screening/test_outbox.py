"""The screening outbox: a stored verdict is followed up (count, log entry, case) by the
drainer, in batches; a poison item never stops the others; two drainers never follow up
one item; the driver's loop wakes when kicked and tells who waits."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from trustdesk.cases import screened as cases_screened
from trustdesk.cases.models import CaseItem
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.screening import outbox, service
from trustdesk.screening.driver import OutboxDriver
from trustdesk.screening.engine import Screener
from trustdesk.screening.models import ContentItem, ScreeningFollowUp
from trustdesk.screening.runtime import as_archive, build_screener, source_from_archive

from desk import RULES
from support import TEST_DIGEST_KEY

TEXTS = ("online casino", "casino, poison", "guaranteed returns")  # block, block, hold


def _service(database: Database, packs: PackRegistry) -> tuple[uuid.UUID, Screener]:
    archive = as_archive(RULES.encode(), "rules.yaml")
    source = source_from_archive(archive, packs.all())
    with database.session() as session:
        created = compliance.create_service(
            session,
            packs,
            name=f"outbox {uuid.uuid4().hex[:6]}",
            types=(ServiceType.ONLINE_CHAT,),
            packs=("cn-xj-2014", "eu-dsa"),
        )
        service_id = created.service.id
        own = compliance.packs_for(session, packs, service_id)
        service.deploy(session, service_id, source, archive, packs=own, by="test")
    return service_id, build_screener(source, None)


def _store(
    database: Database, service_id: uuid.UUID, screener: Screener, texts: tuple[str, ...]
) -> list[uuid.UUID]:
    stored = []
    with database.session() as session:
        for n, text in enumerate(texts):
            item = service.ContentIn.of(f"c-{n}", text, subject=f"acct-{n}")
            item_id = service.record(session, service_id, item, screener.screen(text))
            assert item_id is not None
            stored.append(item_id)
    return stored


def _cases(packs: PackRegistry, poison: str | None = None) -> service.ScreeningListener:
    """The desk's listener (cases), failing on items whose text holds ``poison``."""

    def listener(session: Session, screened: service.Screened) -> None:
        if poison is not None and poison in screened.item.text:
            raise ValueError("this item's case cannot be opened")
        own = compliance.packs_for(session, packs, screened.service_id)
        cases_screened.on_screened(session, own, screened)

    return listener


def _logged(session: Session) -> Counter[str]:
    """How many content_screened entries name each item."""
    found: Counter[str] = Counter()
    for start in range(0, records.size(session), records.MAX_PAGE):
        for entry in records.entries(session, start, start + records.MAX_PAGE):
            event = json.loads(entry.leaf)
            if event["type"] == EventType.SCREENING_CONTENT_SCREENED:
                found[event["data"]["item_id"]] += 1
    return found


def test_a_drain_counts_logs_and_opens_cases_in_one_pass(
    database: Database, packs: PackRegistry
) -> None:
    service_id, screener = _service(database, packs)
    stored = _store(database, service_id, screener, (TEXTS[0], TEXTS[2]))
    with database.session() as session:
        assert service.counts(session, service_id) == {}
        assert outbox.backlog(session) == 2
        drained = outbox.drain(session, _cases(packs))
        assert drained == outbox.Drained(tuple(stored))
        assert service.counts(session, service_id) == {"block": 1, "hold": 1}
        assert outbox.backlog(session) == 0
        assert _logged(session) == {str(i): 1 for i in stored}
        for item_id in stored:
            item = session.get(ContentItem, item_id)
            assert item is not None and item.log_index != service.LOG_PENDING
            case = session.scalar(select(CaseItem.case_id).where(CaseItem.item_id == item_id))
            assert case is not None
        assert outbox.drain(session, _cases(packs)) == outbox.Drained()


def test_a_poison_item_is_parked_and_never_stops_the_others(
    database: Database, packs: PackRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    service_id, screener = _service(database, packs)
    good, poison, other = _store(database, service_id, screener, TEXTS)
    listener = _cases(packs, poison="poison")
    with database.session() as session:
        first = outbox.drain(session, listener)
        assert first == outbox.Drained((good, other), failed=(poison,))
        for _ in range(outbox.MAX_ATTEMPTS - 2):
            assert outbox.drain(session, listener) == outbox.Drained(failed=(poison,))
        assert outbox.drain(session, listener) == outbox.Drained(parked=(poison,))
        assert outbox.drain(session, listener) == outbox.Drained()  # parked: tried no more
        row = session.get(ScreeningFollowUp, poison)
        assert row is not None and row.parked_at is not None
        assert row.attempts == outbox.MAX_ATTEMPTS
        assert row.last_error == "ValueError: this item's case cannot be opened"
        assert not outbox.waiting(session, poison)
        assert service.counts(session, service_id) == {"block": 1, "hold": 1}
        assert _logged(session) == {str(good): 1, str(other): 1}
        item = session.get(ContentItem, poison)
        assert item is not None and item.log_index == service.LOG_PENDING
        cased = session.scalars(select(CaseItem.item_id).where(CaseItem.item_id.in_([good, other])))
        assert sorted(cased) == sorted([good, other])
    assert f"screening follow-up of item {poison} parked" in caplog.text


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated database of the test's own (no shared connection): for threads."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
    else:
        url = request.getfixturevalue("temporary_postgres").url
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    records.use_digest_key(database, TEST_DIGEST_KEY)
    yield database
    database.dispose()


def test_two_drainers_never_follow_up_one_item(own_database: Database, packs: PackRegistry) -> None:
    service_id, screener = _service(own_database, packs)
    stored = _store(own_database, service_id, screener, TEXTS[::2] * 40)
    told: Counter[uuid.UUID] = Counter()
    lock = threading.Lock()

    def listener(session: Session, screened: service.Screened) -> None:
        _cases(packs)(session, screened)
        with lock:
            told[screened.item_id] += 1

    def drainer() -> None:
        with own_database.session() as session:
            outbox.drain_all(session, listener, batch=7)

    threads = [threading.Thread(target=drainer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert told == Counter(stored)  # each once: no batch failed, none was taken twice
    with own_database.session() as session:
        assert outbox.backlog(session) == 0
        assert records.count(session, EventType.SCREENING_CONTENT_SCREENED) == len(stored)
        assert service.counts(session, service_id) == {"block": 40, "hold": 40}


def test_the_loop_wakes_when_kicked_and_tells_who_waits(
    own_database: Database, packs: PackRegistry
) -> None:
    service_id, screener = _service(own_database, packs)
    driver = OutboxDriver(own_database, _cases(packs), poll_seconds=60)

    async def scenario() -> bool:
        loop = asyncio.create_task(driver.run())
        try:
            while not driver.running:  # (started: its first pass is under way)
                await asyncio.sleep(0.01)
            [item_id] = await asyncio.to_thread(
                _store, own_database, service_id, screener, TEXTS[:1]
            )
            driver.kick()  # without it, the loop would sleep a minute
            return await driver.settled(item_id, timeout=45)
        finally:
            loop.cancel()

    assert asyncio.run(scenario())
    with own_database.session() as session:
        assert outbox.backlog(session) == 0
        assert service.counts(session, service_id) == {"block": 1}


def test_without_a_loop_settled_follows_up_itself(database: Database, packs: PackRegistry) -> None:
    service_id, screener = _service(database, packs)
    [item_id] = _store(database, service_id, screener, TEXTS[:1])
    driver = OutboxDriver(database, _cases(packs), poll_seconds=0)
    assert asyncio.run(driver.settled(item_id, timeout=5))
    with database.session() as session:
        assert not outbox.waiting(session, item_id)
        assert service.counts(session, service_id) == {"block": 1}


def test_who_waits_is_told_at_the_next_pass_when_another_process_followed_up(
    own_database: Database, packs: PackRegistry
) -> None:
    """With two workers, the other one often follows up an item stored here: who waits for
    it (the route's settle) learns it at this process's next pass, not after the poll."""
    service_id, screener = _service(own_database, packs)
    [item_id] = _store(own_database, service_id, screener, TEXTS[:1])
    elsewhere = OutboxDriver(own_database, _cases(packs), poll_seconds=60)
    assert elsewhere.drain_now() == 1  # another process took it
    here = OutboxDriver(own_database, _cases(packs), poll_seconds=60)

    async def scenario() -> bool:
        loop = asyncio.create_task(here.run())
        try:
            while not here.running:
                await asyncio.sleep(0.01)
            waiter = asyncio.create_task(here.settled(item_id, timeout=50))
            await asyncio.sleep(0)  # (it now waits for this process's next pass)
            here.kick()  # something else was stored here: a pass, with nothing to do
            # Before, it learnt only when its wait for a pass timed out (the poll, a minute,
            # or the settle's own end); the margin is generous either way.
            done, _ = await asyncio.wait({waiter}, timeout=25)
            return waiter in done and waiter.result()
        finally:
            loop.cancel()

    assert asyncio.run(scenario())


def test_a_pass_takes_a_full_batch_where_the_log_lock_blocks_no_other_writer(
    own_database: Database, packs: PackRegistry
) -> None:
    """PostgreSQL: the log's lock holds back only other appenders, so a driver takes up to a
    whole batch at once (a pass's fixed cost spread over many items; under load, shrinking
    batches to one item made the follow-up fall behind). SQLite: every writer waits for that
    lock, so a driver starts small and paces its batches."""
    service_id, screener = _service(own_database, packs)
    stored = _store(own_database, service_id, screener, TEXTS[::2] * 30)
    claims: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM screening_outbox" in statement and "ORDER BY" in statement:
            claims.append(statement)

    driver = OutboxDriver(own_database, _cases(packs), poll_seconds=60)
    event.listen(own_database.engine, "before_cursor_execute", count)
    try:
        assert driver.drain_now() == len(stored)
    finally:
        event.remove(own_database.engine, "before_cursor_execute", count)
    if own_database.engine.dialect.name == "postgresql":
        assert len(claims) == 1  # the 60 items in one pass
    else:
        assert len(claims) > 1  # a first batch of a tenth of the most, then paced


def test_who_waits_during_a_long_drain_asks_the_database_nothing(
    own_database: Database, packs: PackRegistry
) -> None:
    """While passes run here, who waits learns of its item at each pass's end. Before, each
    waiter asked the database whether its item was done every poll interval, however busy
    the drain was: under blocked load, as many queries a second as requests in flight,
    taking the process's time from the drain itself."""
    service_id, screener = _service(own_database, packs)
    stored = _store(own_database, service_id, screener, TEXTS[::2] * 2)

    def slow(session: Session, screened: service.Screened) -> None:
        threading.Event().wait(0.2)  # a slow follow-up (outside work: a busy database)
        _cases(packs)(session, screened)

    driver = OutboxDriver(own_database, slow, poll_seconds=0.02, batch=1)
    asked: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "screening_outbox.item_id = " in statement:  # is this one item still waiting?
            asked.append(statement)

    async def scenario() -> bool:
        loop = asyncio.create_task(driver.run())
        try:
            while not driver.running:
                await asyncio.sleep(0.01)
            event.listen(own_database.engine, "before_cursor_execute", count)
            waiter = asyncio.create_task(driver.settled(stored[-1], timeout=50))
            await asyncio.sleep(0)
            driver.kick()
            return await waiter
        finally:
            event.remove(own_database.engine, "before_cursor_execute", count)
            loop.cancel()

    assert asyncio.run(scenario())
    # At most once, should the first wait end before the first pass began; before, every
    # 20 ms of the ~0.8 s the four passes take.
    assert len(asked) <= 1, asked


def test_the_door_waits_for_room_only_while_its_service_s_backlog_is_over_its_bound(
    own_database: Database, packs: PackRegistry
) -> None:
    """A pass counts the follow-ups waiting, by service; the door's backpressure (``room``)
    waits for the passes that bring its own service's to the bound, never past its
    timeout, and never for another service's backlog."""
    service_id, screener = _service(own_database, packs)
    other = uuid.uuid4()
    driver = OutboxDriver(own_database, _cases(packs), poll_seconds=0.05)

    async def scenario() -> tuple[int, int, bool, int]:
        await driver.room(service_id, 0, timeout=45)  # no loop here: nothing to wait for
        loop = asyncio.create_task(driver.run())
        try:
            while not driver.running:
                await asyncio.sleep(0.01)
            [first] = await asyncio.to_thread(_store, own_database, service_id, screener, TEXTS[:1])
            driver.kick()
            assert await driver.settled(first, timeout=45)  # the loop's passes are over
            more = TEXTS[1:4]  # (stored unkicked: no pass runs until the kick below)
            await asyncio.to_thread(_store, own_database, service_id, screener, more)
            # as a pass would have counted them, had one run meanwhile
            driver.backlogs = {service_id: 2, other: 10_000}
            waiting = asyncio.create_task(driver.room(service_id, 1, timeout=45))
            await asyncio.sleep(0.2)
            before = int(waiting.done())  # over the bound, no pass yet: still waiting
            driver.kick()  # the pass follows the three up, and counts what is left
            await waiting
            after = driver.backlog
            driver.backlogs = {service_id: 1, other: 10_000}
            # another service far over the bound: this one's door does not wait for it
            alone = asyncio.create_task(driver.room(service_id, 1, timeout=45))
            await asyncio.sleep(0)
            unheld = alone.done()
            await alone
            await driver.room(other, 1, timeout=0.3)  # no pass brings it under: timeout
            return before, after, unheld, driver.backlogs[other]
        finally:
            loop.cancel()

    before, after, unheld, left = asyncio.run(scenario())
    assert (before, after) == (0, 0)
    assert unheld
    assert left == 10_000  # no pass ran meanwhile (nothing kicked it)


def test_a_drain_takes_the_services_in_turn(database: Database, packs: PackRegistry) -> None:
    """A service with a long backlog takes its share of a batch, no more: another
    service's item stored after the whole backlog is followed up in the first pass."""
    flooding, screener = _service(database, packs)
    quiet, _ = _service(database, packs)
    flood = _store(database, flooding, screener, TEXTS[:1] * 12)
    [late] = _store(database, quiet, screener, TEXTS[2:3])
    with database.session() as session:
        assert outbox.backlogs(session) == {flooding: 12, quiet: 1}
        assert outbox.backlog(session) == 13
        first = outbox.drain(session, _cases(packs), limit=4)
        # turns: each service's oldest, then each one's second...; oldest first in a turn
        assert first.done == (flood[0], late, flood[1], flood[2])
        assert outbox.backlogs(session) == {flooding: 9}
        rest = outbox.drain(session, _cases(packs), limit=100)
        assert rest.done == tuple(flood[3:])
        assert outbox.backlogs(session) == {}
