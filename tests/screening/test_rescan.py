"""Rescans as use cases, on SQLite and PostgreSQL: the report of what a new rule set would
change, pages and resumption, and ``apply`` through the normal flow (cases, decisions, log),
never acting twice on one item."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.cases import screened as cases_screened
from trustdesk.cases.models import Case, Decision
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.records.models import LogEntry
from trustdesk.screening import rescan as rescans
from trustdesk.screening import rescan_rows, service
from trustdesk.screening.engine import Screener
from trustdesk.screening.models import ContentItem, Rescan
from trustdesk.screening.service import Screened

from rescans import NEW, TEXTS, screener_of, seed
from support import ServiceFactory


def _engine(screener: Screener) -> rescans.Engine:
    return rescans.local_engine(lambda texts: screener.screen_many(texts, 10))


def _run(
    database: Database,
    spec: rescans.RescanSpec,
    screener: Screener,
    *,
    page: int = 500,
    listener: service.ScreeningListener | None = None,
) -> rescans.RescanView:
    applier = rescans.Applier(lambda t: screener.screen(t, 10), listener)
    with database.session() as session:
        run = rescans.begin(session, spec)
        return rescans.run_to_end(
            session, run, _engine(screener), applier=applier if spec.apply else None, page=page
        )


def _count(database: Database, what: Any) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(what)) or 0


def test_the_report_says_what_the_new_rule_set_would_change(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _, since = seed(database, packs.all(), service_id, rounds=3)
    screener, _ = screener_of(NEW, packs.all())
    items = _count(database, ContentItem)
    spec = rescans.RescanSpec(service_id, screener.version, since)
    report = _run(database, spec, screener, page=5).report
    assert report["items"] == 12
    assert report["changes"] == {
        "newly_held": 3,
        "newly_blocked": 3,
        "relaxed": 0,
        "released": 3,
        "unchanged": 3,
    }
    assert report["transitions"] == {"allow->hold": 3, "hold->block": 3, "block->allow": 3}
    assert report["cleared"] == 3
    assert {r["content_id"] for r in report["released_items"]} == {f"c-{n}-0" for n in range(3)}
    gambling = report["rules"]["gambling-ads"]
    assert (gambling["items_before"], gambling["items_after"], gambling["items_lost"]) == (6, 3, 3)
    lottery = report["rules"]["lottery"]  # a shadow match before, an enforced one now
    assert (lottery["items_before"], lottery["items_after"], lottery["items_gained"]) == (3, 3, 0)
    assert report["applied"] == 0
    assert _count(database, ContentItem) == items  # a report only: nothing stored


def test_items_before_since_and_after_the_start_are_not_read(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _, first = seed(database, packs.all(), service_id, rounds=1)
    _, second = seed(database, packs.all(), service_id, rounds=1)  # OLD again: same version
    screener, _ = screener_of(NEW, packs.all())
    spec = rescans.RescanSpec(service_id, screener.version, second)
    with database.session() as session:
        run = rescans.begin(session, spec)
        assert rescan_rows.total(session, rescans.window(run)) == len(TEXTS)
    seed(database, packs.all(), service_id, rounds=1)  # stored after the rescan began
    with database.session() as session:
        run = rescans.run_to_end(session, run, _engine(screener), page=3)
    assert run.report["items"] == len(TEXTS) and run.status == rescans.DONE
    assert first < second


def test_a_stopped_rescan_resumes_from_its_cursor_with_the_same_report(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _, since = seed(database, packs.all(), service_id, rounds=5)
    screener, _ = screener_of(NEW, packs.all())
    whole = _run(database, rescans.RescanSpec(service_id, screener.version, since), screener)
    spec = rescans.RescanSpec(service_id, screener.version, since)
    with database.session() as session:
        run = rescans.begin(session, spec)
        assert not run.resumed and run.id != whole.id  # the finished one is not resumed
        for _ in range(2):
            run = rescans.step(session, run, _engine(screener), page=3)
        assert run.report["items"] == 6
    with database.session() as session:  # "the same command again"
        again = rescans.begin(session, spec)
        assert again.resumed and again.id == run.id and again.report["items"] == 6
        done = rescans.run_to_end(session, again, _engine(screener), page=7)
    assert done.report == whole.report


def test_resuming_another_rescan_or_an_unknown_one_is_refused(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _, since = seed(database, packs.all(), service_id, rounds=1)
    screener, _ = screener_of(NEW, packs.all())
    spec = rescans.RescanSpec(service_id, screener.version, since)
    with database.session() as session:
        run = rescans.begin(session, spec)
        other = rescans.RescanSpec(service_id, screener.version, since, apply=True)
        for resume, error in (
            (run.id, rescans.RescanMismatch),
            (uuid.uuid4(), rescans.RescanNotFound),
        ):
            try:
                rescans.begin(session, other, resume=resume)
            except error:
                pass
            else:
                raise AssertionError(f"resuming {resume} was not refused")
    assert _count(database, Rescan) >= 1


def _listener(packs: PackRegistry) -> service.ScreeningListener:
    def listen(session: Session, screened: Screened) -> None:
        own = [p for p in packs.all() if p.id == "cn-xj-2014"]
        cases_screened.on_screened(session, own, screened)

    return listen


def test_apply_opens_cases_for_stricter_items_once_and_lifts_nothing(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _, since = seed(database, packs.all(), service_id, rounds=2)
    screener, _ = screener_of(NEW, packs.all())
    cases, decisions, entries = (_count(database, t) for t in (Case, Decision, LogEntry))
    spec = rescans.RescanSpec(service_id, screener.version, since, apply=True)
    report = _run(database, spec, screener, page=3, listener=_listener(packs)).report
    assert report["applied"] == 4  # 2 newly held, 2 newly blocked; released ones untouched
    with database.session() as session:
        stored = session.execute(
            select(ContentItem.content_id, ContentItem.verdict).where(
                ContentItem.service_id == service_id, ContentItem.ruleset == screener.version
            )
        ).all()
    assert sorted(stored) == [
        ("c-0-1", "block"),
        ("c-0-2", "hold"),
        ("c-1-1", "block"),
        ("c-1-2", "hold"),
    ]
    # a case for each (the seed stored without review); the blocked ones decided at once
    assert _count(database, Case) == cases + 4
    assert _count(database, Decision) == decisions + 2
    assert _count(database, LogEntry) > entries + 4
    again = _run(database, spec, screener, page=2, listener=_listener(packs))  # a new run
    # it reads the items the first one stored too (unchanged), and acts on nothing again
    assert again.report["items"] == 12 and again.report["changes"]["unchanged"] == 2 + 4
    assert again.report["applied"] == 4
    with database.session() as session:
        restated = session.scalar(
            select(func.count()).where(ContentItem.ruleset == screener.version)
        )
    assert restated == 4 and _count(database, Case) == cases + 4


def test_a_page_acted_on_but_not_counted_is_not_acted_on_again(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    """The process died after acting on a page and before writing its cursor: the resumed
    run reads the page again and finds each verdict already on record."""
    service_id = make_service().service.id
    _, since = seed(database, packs.all(), service_id, rounds=2)
    screener, _ = screener_of(NEW, packs.all())
    spec = rescans.RescanSpec(service_id, screener.version, since, apply=True)
    applier = rescans.Applier(lambda t: screener.screen(t, 10), _listener(packs))
    with database.session() as session:
        run = rescans.begin(session, spec)
        rescans.step(session, run, _engine(screener), applier=applier, page=8)
        cases = _count(database, Case)
        with session.begin():  # the page's cursor and report, lost
            row = session.get(Rescan, run.id)
            assert row is not None
            row.cursor_at, row.cursor_id, row.report, row.status = None, None, run.report, "running"
        again = rescans.begin(session, spec)
        done = rescans.run_to_end(session, again, _engine(screener), applier=applier, page=8)
    assert again.id == run.id and done.report["applied"] == 4
    assert _count(database, Case) == cases == 4
    with database.session() as session:
        acted = session.scalar(select(func.count()).where(ContentItem.ruleset == screener.version))
    assert acted == 4


def test_two_processes_on_one_rescan_never_count_a_page_twice(
    database: Database, packs: PackRegistry, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    _, since = seed(database, packs.all(), service_id, rounds=2)
    screener, _ = screener_of(NEW, packs.all())
    spec = rescans.RescanSpec(service_id, screener.version, since)
    with database.session() as session:
        first = rescans.begin(session, spec)
        second = rescans.begin(session, spec)  # another process, the same unfinished run
        assert second.resumed and second.id == first.id
        rescans.step(session, first, _engine(screener), page=3)
        try:
            rescans.step(session, second, _engine(screener), page=3)
        except rescans.RescanMismatch:
            pass
        else:
            raise AssertionError("the second process counted a page the first one counted")
        again = rescans.begin(session, spec)
    assert again.report["items"] == 3
