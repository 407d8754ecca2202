"""The screen use case called as any adapter calls it, without HTTP: the publishing gate, a
service with no rule set, and a stored verdict told to the listener; what it writes is
committed by the use case itself (a second session sees it)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.screening import service
from trustdesk.screening.engine import Verdict
from trustdesk.screening.runtime import ScreenerRegistry, as_archive, source_from_archive
from trustdesk.screening.screen import ScreenCall, ScreenOutcome, screen

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
    listener: service.ScreeningListener | None = None,
) -> ScreenOutcome:
    with database.session() as session:
        return screen(
            session,
            call,
            gate=_gate(allowed),
            screeners=ScreenerRegistry(packs.all, None),
            listener=listener,
            max_findings=10,
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


def test_a_service_without_rules_gets_no_screening(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    call = ScreenCall(service_id, service.ContentIn.of("c-1", "online casino"))
    outcome = _screen(database, packs, call)
    assert outcome.screening is None and outcome.item_id is None and not outcome.gated


def test_a_match_is_stored_logged_and_told_to_the_listener(
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
    outcome = _screen(database, packs, call, listener=listener)
    assert outcome.screening is not None and outcome.screening.verdict is Verdict.BLOCK
    assert outcome.item_id is not None and not outcome.gated
    assert [(t.item_id, dict(t.context)) for t in told] == [(outcome.item_id, {"channel": "lobby"})]
    with database.session() as session:
        stored = service.stored_items(session, [outcome.item_id])
        assert [(s.content_id, s.verdict) for s in stored] == [("c-2", "block")]
        assert service.counts(session, service_id) == {"block": 1}
