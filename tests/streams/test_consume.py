"""The consumer against a real redis-server, in process, on SQLite and PostgreSQL: verdicts
out in input order, malformed events dead-lettered with their reasons without stopping
the rest, and a redelivered event never acted on twice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

import redis
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.app import desk_of
from trustdesk.cases.models import Case
from trustdesk.db.base import utcnow
from trustdesk.db.engine import Database
from trustdesk.screening.models import ContentItem
from trustdesk.streams import service as use_cases
from trustdesk.streams.consumer import Consumer, Flow
from trustdesk.streams.events import Event, read_event
from trustdesk.streams.models import StreamReceipt
from trustdesk.streams.redis_source import RedisSource

from desk import Desk
from streamfeed import DEAD, GROUP, OUTPUT, STREAM, add, dead_letters, event, pending, verdicts

BLOCKED, HELD, CLEAN = "online casino tonight", "稳赚不赔的机会", "see you at the meeting"


def _consumer(
    app: FastAPI, desk: Desk, session: Session, client: redis.Redis, **flow: int
) -> Consumer:
    wiring = desk_of(app)
    source = RedisSource(client, STREAM, GROUP, "one", output=OUTPUT, dead_letter=DEAD)
    source.ensure_group()
    screens = use_cases.Screens(
        uuid.UUID(desk.service_id),
        source.name,
        wiring.publish_gate,
        wiring.screeners,
        wiring.screening_listener,
        100,
    )
    settings = Flow(**{"batch": 4, "max_in_flight": 8, "block_ms": 0, **flow})
    return Consumer(source, lambda events: use_cases.act_on(session, screens, events), settings)


def _drain(consumer: Consumer, client: redis.Redis, total: int) -> None:
    for _ in range(100):
        consumer.step()
        if consumer.tally.done >= total and not consumer.in_flight:
            return
    raise AssertionError(f"the consumer answered {consumer.tally.done} of {total}")


def _count(session: Session, model: type[ContentItem] | type[Case], content_id: str) -> int:
    with session.begin():
        return int(
            session.scalar(
                select(func.count()).select_from(model).where(model.content_id == content_id)
            )
            or 0
        )


def test_verdicts_come_out_in_order_and_malformed_events_go_to_the_dead_letter(
    app: FastAPI, desk: Desk, database: Database, redis_client: redis.Redis
) -> None:
    good = [("p1", CLEAN), ("p2", BLOCKED), ("p3", HELD), ("p4", CLEAN), ("p5", BLOCKED)]
    bad: Sequence[tuple[bytes | None, str]] = [
        (b"{not json", "not_json"),
        (None, "missing_event"),
        (event("p-long", "长" * 400_000), "event_too_large"),
        (event(42, CLEAN), "invalid_event"),
        (event("p\u202e6", CLEAN), "invalid_event"),
        (event("p7", CLEAN, context={"x": "\x00"}), "invalid_event"),
    ]
    sent: list[tuple[str, str | None]] = []  # entry id, content id (None: refused)
    for (content_id, text), (payload, _code) in zip(good, [*bad, (b"", "")], strict=False):
        sent.append((add(redis_client, event(content_id, text)), content_id))
        sent.append((add(redis_client, payload), None))
    for payload, _code in bad[len(good) :]:
        sent.append((add(redis_client, payload), None))
    with database.session() as session:
        consumer = _consumer(app, desk, session, redis_client, max_event_bytes=1_048_576)
        _drain(consumer, redis_client, len(sent))
    out = verdicts(redis_client)
    assert [source for source, _ in out] == [entry for entry, cid in sent if cid is not None]
    assert [v["id"] for _, v in out] == [cid for cid, _ in good]
    assert [v["verdict"] for _, v in out] == ["allow", "block", "hold", "allow", "block"]
    assert all(v["item_id"] for _, v in out if v["verdict"] != "allow")
    letters = dead_letters(redis_client)
    assert [d["source_id"] for d in letters] == [entry for entry, cid in sent if cid is None]
    assert [d["code"] for d in letters] == [code for _, code in bad]
    assert all(d["reason"] for d in letters)
    assert "content.id" in letters[3]["reason"]
    assert pending(redis_client) == 0  # every event acknowledged, refused ones too


def test_a_redelivered_event_is_answered_from_its_receipt_and_acted_on_once(
    app: FastAPI, desk: Desk, database: Database, redis_client: redis.Redis
) -> None:
    for content_id, text in [("b1", BLOCKED), ("b1", BLOCKED), ("c1", CLEAN), ("h1", HELD)]:
        add(redis_client, event(content_id, text))
    with database.session() as session:
        consumer = _consumer(app, desk, session, redis_client)
        _drain(consumer, redis_client, 4)
        for content_id, text in [("b1", BLOCKED), ("c1", CLEAN), ("h1", HELD)]:
            add(redis_client, event(content_id, text))  # delivered again
        _drain(consumer, redis_client, 7)
        assert _count(session, ContentItem, "b1") == 1
        assert _count(session, Case, "b1") == 1
        assert _count(session, ContentItem, "h1") == 1
        assert _count(session, ContentItem, "c1") == 0  # clean: screened twice, stored never
    answers = [v for _, v in verdicts(redis_client)]
    first, *again = [v for v in answers if v["id"] == "b1"]
    assert len(again) == 2 and all(v == first for v in again)  # the same verdict, same item
    assert [v["verdict"] for v in answers if v["id"] == "c1"] == ["allow", "allow"]
    assert consumer.tally.replayed == 3  # b1 twice, h1 once
    assert pending(redis_client) == 0


def _events(*pairs: tuple[str, str]) -> list[Event]:
    read = [read_event(event(content_id, text), 4096) for content_id, text in pairs]
    assert all(isinstance(e, Event) for e in read)
    return [e for e in read if isinstance(e, Event)]


def test_a_batch_is_answered_in_order_around_receipts_and_repeated_ids(
    app: FastAPI, desk: Desk, database: Database
) -> None:
    """Events are screened together in runs of distinct ids: an event with a receipt, or
    an id seen earlier in the batch, is still answered in its place."""
    wiring = desk_of(app)
    screens = use_cases.Screens(
        uuid.UUID(desk.service_id),
        "redis:posts",
        wiring.publish_gate,
        wiring.screeners,
        wiring.screening_listener,
        100,
    )
    with database.session() as session:
        [first] = use_cases.act_on(session, screens, _events(("r1", BLOCKED)))
        assert first.stored and not first.replayed
        batch = _events(
            ("n1", CLEAN),
            ("r1", BLOCKED),  # a receipt from the batch before
            ("n2", HELD),
            ("n2", HELD),  # again in this batch: from the receipt the first wrote
            ("n1", CLEAN),  # clean again: nothing stored, screened again
            ("n3", BLOCKED),
        )
        answers = use_cases.act_on(session, screens, batch)
        assert _count(session, ContentItem, "n2") == 1
        assert _count(session, Case, "n3") == 1
    assert [a.content_id for a in answers] == ["n1", "r1", "n2", "n2", "n1", "n3"]
    assert [a.verdict for a in answers] == ["allow", "block", "hold", "hold", "allow", "block"]
    assert [a.replayed for a in answers] == [False, True, False, True, False, False]
    assert answers[1].body == first.body
    assert answers[3].body == answers[2].body


def test_receipts_are_purged_after_their_retention(
    app: FastAPI, desk: Desk, database: Database, redis_client: redis.Redis
) -> None:
    add(redis_client, event("b2", BLOCKED))
    with database.session() as session:
        _drain(_consumer(app, desk, session, redis_client), redis_client, 1)
        assert streams_receipts(session) == 1
        assert streams_purge(session, days=1) == 0  # a receipt of now is kept
        assert streams_purge(session, days=-1) == 1
        assert streams_receipts(session) == 0


def streams_purge(session: Session, *, days: int) -> int:
    return use_cases.purge_receipts(session, before=utcnow() - timedelta(days=days))


def streams_receipts(session: Session) -> int:
    with session.begin():
        return int(session.scalar(select(func.count()).select_from(StreamReceipt)) or 0)
