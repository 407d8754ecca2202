"""Rescans: a service's stored content screened again with a new or shadow rule set.

What a rescan can see: the service's *stored* items (:class:`ContentItem`): content that was
held, blocked, or matched by any rule (shadow rules included). Content that was allowed with
no finding was counted, never stored (data minimisation), so no rescan can find that a new
rule would now hold it; a rule set's reach over clean traffic shows by deploying its rules
in shadow mode first and reading the shadow results.

A rescan reads the items created from ``since`` to its own start (``until``) in
(created_at, id) order, a page at a time, screens each page with an engine (this process,
or Ray: :mod:`trustdesk.screening.rescan_ray`), and after each page writes its cursor and
its report so far in one transaction: a rescan stopped anywhere resumes after the last page
it counted and ends with the report an uninterrupted one gives.

With ``apply``, an item whose verdict becomes stricter goes through the normal flow of a
screening verdict (:func:`trustdesk.screening.service.record` with the desk's listener: the
item stored under the new rule set, its log entry, and its case opened or joined, decided at
once if blocked). An item already stored for the same content under the same rule set and
verdict is not acted on again (a page redone after a crash, or the live service screened it
with these rules already). Items the rule set would release are only reported: lifting a
restriction is a person's decision (a reversal in the case), never a rescan's.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.screening import outbox, service
from trustdesk.screening import rescan_report as reports
from trustdesk.screening.engine import RuleCount, Screening, Verdict
from trustdesk.screening.models import ContentItem, Rescan
from trustdesk.screening.rescan_rows import Key, StoredRow, Window, read_page

RUNNING, DONE = "running", "done"
PAGE = 500  # stored items read and screened at a time


class InvalidSince(InvalidInput):
    code = "invalid_since"


class RescanNotFound(NotFound):
    code = "rescan_not_found"


class RescanMismatch(Conflict):
    code = "rescan_mismatch"


def parse_since(text: str) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 time (UTC unless it says otherwise)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidSince(f"--since {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time")
    if len(text.strip()) == 10:
        moment = datetime.combine(date.fromisoformat(text.strip()), time(), UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RescanSpec:
    """What to rescan: a service's items created since ``since``, with rule set ``ruleset``."""

    service_id: uuid.UUID
    ruleset: str
    since: datetime
    apply: bool = False


@dataclass(frozen=True, slots=True)
class RescanView:
    id: uuid.UUID
    spec: RescanSpec
    until: datetime
    status: str
    report: dict[str, Any]
    resumed: bool  # an earlier, unfinished run of the same rescan is continued
    cursor: Key | None = None  # the last item counted


Outcome = tuple[Verdict, tuple[RuleCount, ...]]
Page = tuple[list[StoredRow], list[Outcome]]


class Engine(Protocol):
    """Screens a run's remaining items: yields each page (in the rescan's order, after the
    run's cursor, ``page`` items or fewer at the end) with one outcome per item."""

    def __call__(self, session: Session, run: RescanView, page: int) -> Iterator[Page]: ...


def local_engine(screen_many: Callable[[list[str]], list[Screening]]) -> Engine:
    """Read and screen pages in this process (``screen_many``: the screener's, with its
    limit)."""

    def pages(session: Session, run: RescanView, page: int) -> Iterator[Page]:
        cursor = run.cursor
        while True:
            rows = read_page(session, window(run), cursor, page)
            if not rows:
                return
            screened = screen_many([row.text for row in rows])
            yield rows, [(s.verdict, service.rule_counts_of(s)) for s in screened]
            if len(rows) < page:
                return
            cursor = (rows[-1].created_at, rows[-1].id)

    return pages


def window(run: RescanView) -> Window:
    """The items ``run`` reads."""
    return Window(run.spec.service_id, run.spec.since, run.until)


def _view(row: Rescan, resumed: bool) -> RescanView:
    spec = RescanSpec(row.service_id, row.ruleset, row.since, row.apply)
    cursor = (row.cursor_at, row.cursor_id) if row.cursor_at and row.cursor_id else None
    report = copy.deepcopy(row.report)
    return RescanView(row.id, spec, row.until, row.status, report, resumed, cursor)


def begin(session: Session, spec: RescanSpec, *, resume: uuid.UUID | None = None) -> RescanView:
    """The unfinished run of this rescan (``resume``: that one, which must be of ``spec``),
    or a new one reading up to now."""
    with transaction(session):
        if resume is not None:
            row = session.get(Rescan, resume)
            if row is None or row.service_id != spec.service_id:
                raise RescanNotFound(f"no rescan {resume} of this service")
            if (row.ruleset, row.since, row.apply) != (spec.ruleset, spec.since, spec.apply):
                raise RescanMismatch(
                    f"rescan {resume} is of rule set {row.ruleset[:16]} since "
                    f"{row.since.isoformat()} (apply: {row.apply}); give the same options"
                )
            return _view(row, resumed=row.status == RUNNING)
        row = session.scalar(
            select(Rescan)
            .where(
                Rescan.service_id == spec.service_id,
                Rescan.ruleset == spec.ruleset,
                Rescan.since == spec.since,
                Rescan.apply == spec.apply,
                Rescan.status == RUNNING,
            )
            .order_by(Rescan.started_at.desc())
            .limit(1)
        )
        if row is not None:
            return _view(row, resumed=True)
        moment = utcnow()
        row = Rescan(
            service_id=spec.service_id,
            ruleset=spec.ruleset,
            since=spec.since,
            until=moment,
            apply=spec.apply,
            status=RUNNING,
            cursor_at=None,
            cursor_id=None,
            report=reports.empty(),
            started_at=moment,
            updated_at=moment,
        )
        session.add(row)
        session.flush()
        return _view(row, resumed=False)


@dataclass(frozen=True, slots=True)
class Applier:
    """How ``apply`` acts: the rule set's screener (for the verdict's findings) and the
    listener that reviews stored verdicts (the desk's)."""

    screen: Callable[[str], Screening]
    listener: service.ScreeningListener | None


def _acted(session: Session, run: RescanView, rows: list[StoredRow]) -> set[tuple[str, str]]:
    """(content id, verdict) of the page's contents the service already stored under the
    run's rule set: one query a page."""
    with read_transaction(session):
        found = session.execute(
            select(ContentItem.content_id, ContentItem.verdict).where(
                ContentItem.service_id == run.spec.service_id,
                ContentItem.ruleset == run.spec.ruleset,
                ContentItem.content_id.in_({row.content_id for row in rows}),
            )
        ).all()
    return {(content_id, verdict) for content_id, verdict in found}


def _act(
    session: Session,
    run: RescanView,
    row: StoredRow,
    applier: Applier,
    acted: set[tuple[str, str]],
) -> None:
    """The stricter verdict on ``row`` through the normal flow, unless already acted on
    (``acted``: see :func:`_acted`; what this stores is added to it)."""
    screening = applier.screen(row.text)
    if screening.ruleset != run.spec.ruleset:
        raise RescanMismatch("the screener given to apply is not the rescan's rule set")
    done = (row.content_id, str(screening.verdict))
    if done in acted:
        return
    item = service.ContentIn(row.content_id, row.text, row.subject, row.kind)
    context = {"rescan": str(run.id), "rescanned_item": str(row.id)}
    service.record(session, run.spec.service_id, item, screening, context=context)
    acted.add(done)


def _count_page(
    session: Session,
    run: RescanView,
    rows: list[StoredRow],
    outcomes: list[Outcome],
    applier: Applier | None,
) -> RescanView:
    """Count a page into the report (acting on it first if the rescan applies), then write
    the report and the cursor together."""
    if len(outcomes) != len(rows):
        raise RuntimeError(f"the engine answered {len(outcomes)} verdicts for {len(rows)}")
    report = copy.deepcopy(run.report)
    acted = _acted(session, run, rows) if applier is not None and run.spec.apply else set()
    for row, (verdict, counts) in zip(rows, outcomes, strict=True):
        old, new = reports.rules_of(row.rule_counts), reports.rules_of(counts)
        reports.add(
            report, reports.Rescreened(str(row.id), row.content_id, row.verdict, verdict, old, new)
        )
        if applier is not None and run.spec.apply and reports.stricter(row.verdict, verdict):
            _act(session, run, row, applier, acted)
            report["applied"] += 1
    cursor = (rows[-1].created_at, rows[-1].id)
    _save(session, run, report, RUNNING, cursor)
    if applier is not None and report["applied"] > run.report["applied"]:
        # What the page stored is durable; its log entries and cases follow (the outbox
        # is drained here, and by the server if this process dies first).
        outbox.drain_all(session, applier.listener)
    return RescanView(run.id, run.spec, run.until, RUNNING, report, run.resumed, cursor)


def _save(
    session: Session, run: RescanView, report: dict[str, Any], status: str, cursor: Key | None
) -> None:
    """Write the report, the status and the cursor, if the run's cursor is still where this
    process left it: a second process running the same rescan stops instead of counting
    pages twice."""
    values: dict[str, Any] = {"report": report, "status": status, "updated_at": utcnow()}
    if cursor is not None:
        values |= {"cursor_at": cursor[0], "cursor_id": cursor[1]}
    where = [Rescan.id == run.id, Rescan.status == RUNNING]
    if run.cursor is None:
        where += [Rescan.cursor_at.is_(None), Rescan.cursor_id.is_(None)]
    else:
        where += [Rescan.cursor_at == run.cursor[0], Rescan.cursor_id == run.cursor[1]]
    with transaction(session):
        moved = session.execute(update(Rescan).where(*where).values(**values))
        if getattr(moved, "rowcount", 1) != 1:
            raise RescanMismatch(
                f"rescan {run.id} moved on in another process; run it again to resume it"
            )


def _check(run: RescanView, applier: Applier | None) -> None:
    if run.spec.apply and applier is None:
        raise InvalidInput("an applying rescan needs an applier")


def step(
    session: Session,
    run: RescanView,
    engine: Engine,
    *,
    applier: Applier | None = None,
    page: int = PAGE,
) -> RescanView:
    """Screen and count the next page only (then stop, as a crash would)."""
    _check(run, applier)
    for rows, outcomes in engine(session, run, page):
        return _count_page(session, run, rows, outcomes, applier)
    return run


def run_to_end(
    session: Session,
    run: RescanView,
    engine: Engine,
    *,
    applier: Applier | None = None,
    page: int = PAGE,
    progress: Callable[[int], None] | None = None,
) -> RescanView:
    """Screen and count every page left, then mark the run done; ``progress(items counted
    so far)`` after each page."""
    _check(run, applier)
    if run.status == DONE:
        return run
    for rows, outcomes in engine(session, run, page):
        run = _count_page(session, run, rows, outcomes, applier)
        if progress is not None:
            progress(run.report["items"])
    _save(session, run, run.report, DONE, None)
    return RescanView(run.id, run.spec, run.until, DONE, run.report, run.resumed, run.cursor)
