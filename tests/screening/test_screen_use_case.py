"""The screen use case called as any adapter calls it, without HTTP: the publishing gate, a
service with no rule set, and a stored verdict whose follow-up (count, log entry, listener)
the outbox does; what it writes is committed by the use case itself (a second session sees
it)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.records import service as records
from trustdesk.screening import outbox, service
from trustdesk.screening.engine import Verdict
from trustdesk.screening.models import ContentItem
from trustdesk.screening.runtime import ScreenerRegistry, as_archive, source_from_archive
from trustdesk.screening.screen import ScreenCall, ScreenOutcome, screen
from trustdesk.screening.tally import Tally

from desk import RULES
from support import ServiceFactory


def _gate(allowed: bool) -> service.PublishGate:
    def gate(_session: Session, _service_id: uuid.UUID, _subject: str | None) -> bool:
        return allowed

    return gate


def _screen(
    database: Database,
    packs: PackRegistry,
    call: ScreenCall,
    *,
    allowed: bool = True,
    tally: Tally | None = None,
) -> ScreenOutcome:
    with database.session() as session:
        return screen(
            session,
            call,
            gate=_gate(allowed),
            screeners=ScreenerRegistry(packs.all, None),
            max_findings=10,
            tally=tally,
        )


def _deploy(database: Database, packs: PackRegistry, service_id: uuid.UUID) -> None:
    archive = as_archive(RULES.encode(), "rules.yaml")
    with database.session() as session:
        source = source_from_archive(archive, packs.all())
        own = compliance.packs_for(session, packs, service_id)
        service.deploy(session, service_id, source, archive, packs=own, by="test")


def test_a_subject_the_gate_refuses_is_blocked_and_only_counted(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    call = ScreenCall(service_id, service.ContentIn.of("c-1", "hello", subject="acct-1"))
    outcome = _screen(database, packs, call, allowed=False)
    assert outcome.gated and outcome.item_id is None
    assert outcome.screening is not None and outcome.screening.verdict is Verdict.BLOCK
    assert [f.rule for f in outcome.screening.findings] == [service.IDENTITY_REQUIRED]
    with database.session() as session:
        assert service.counts(session, service_id) == {"block": 1}


def test_with_a_tally_an_unstored_verdict_writes_nothing_until_flushed(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _deploy(database, packs, service_id)
    tally = Tally()
    clean = ScreenCall(service_id, service.ContentIn.of("c-1", "hello", subject="acct-1"))
    gated = ScreenCall(service_id, service.ContentIn.of("c-2", "hello", subject="acct-2"))
    assert _screen(database, packs, clean, tally=tally).item_id is None
    assert _screen(database, packs, gated, allowed=False, tally=tally).gated
    with database.session() as session:
        assert service.counts(session, service_id) == {}
        assert tally.flush(session) == 2
        assert service.counts(session, service_id) == {"allow": 1, "block": 1}
        assert tally.flush(session) == 0


def test_a_service_without_rules_gets_no_screening(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    call = ScreenCall(service_id, service.ContentIn.of("c-1", "online casino"))
    outcome = _screen(database, packs, call)
    assert outcome.screening is None and outcome.item_id is None and not outcome.gated


def test_a_match_is_stored_at_once_and_followed_up_by_the_outbox(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _deploy(database, packs, service_id)
    told: list[service.Screened] = []

    def listener(_session: Session, screened: service.Screened) -> None:
        told.append(screened)

    call = ScreenCall(
        service_id, service.ContentIn.of("c-2", "online casino here"), {"channel": "lobby"}
    )
    outcome = _screen(database, packs, call)
    assert outcome.screening is not None and outcome.screening.verdict is Verdict.BLOCK
    assert outcome.item_id is not None and not outcome.gated
    with database.session() as session:  # durable, its follow-up waiting
        stored = service.stored_items(session, [outcome.item_id])
        assert [(s.content_id, s.verdict) for s in stored] == [("c-2", "block")]
        assert service.counts(session, service_id) == {}
        assert outbox.waiting(session, outcome.item_id)
        size = records.size(session)
        drained = outbox.drain(session, listener)
    assert drained.done == (outcome.item_id,)
    assert [(t.item_id, dict(t.context)) for t in told] == [(outcome.item_id, {"channel": "lobby"})]
    assert told[0].screening == outcome.screening
    with database.session() as session:
        assert service.counts(session, service_id) == {"block": 1}
        assert not outbox.waiting(session, outcome.item_id)
        assert records.size(session) == size + 1
        [entry] = records.entries(session, size, size + 1)
        assert entry.index == session.get(ContentItem, outcome.item_id).log_index
