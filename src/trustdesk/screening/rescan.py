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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.screening import rescan_report as reports
from trustdesk.screening import service
from trustdesk.screening.engine import RuleCount, Screening, Verdict
from trustdesk.screening.models import ContentFinding, ContentItem, Rescan
from trustdesk.screening.rules import Action, Mode

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


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A stored item as a rescan reads it."""

    id: uuid.UUID
    created_at: datetime
    content_id: str
    subject: str | None
    kind: str
    text: str
    verdict: Verdict
    rule_counts: tuple[RuleCount, ...]


Outcome = tuple[Verdict, tuple[RuleCount, ...]]
Engine = Callable[[Sequence[StoredRow]], list[Outcome]]


def local_engine(screen_many: Callable[[list[str]], list[Screening]]) -> Engine:
    """Screen pages in this process (``screen_many``: the screener's, with its limit)."""

    def run(rows: Sequence[StoredRow]) -> list[Outcome]:
        screened = screen_many([row.text for row in rows])
        return [(s.verdict, service.rule_counts_of(s)) for s in screened]

    return run


def _view(row: Rescan, resumed: bool) -> RescanView:
    spec = RescanSpec(row.service_id, row.ruleset, row.since, row.apply)
    return RescanView(row.id, spec, row.until, row.status, copy.deepcopy(row.report), resumed)


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


def _window(run: RescanView) -> list[Any]:
    spec = run.spec
    return [
        ContentItem.service_id == spec.service_id,
        ContentItem.created_at >= spec.since,
        ContentItem.created_at <= run.until,
    ]


def total(session: Session, run: RescanView) -> int:
    """How many stored items the rescan reads in all."""
    with read_transaction(session):
        return session.scalar(select(func.count()).where(*_window(run))) or 0


def _page(session: Session, run: RescanView, size: int) -> list[StoredRow]:
    with read_transaction(session):
        at, last = session.execute(
            select(Rescan.cursor_at, Rescan.cursor_id).where(Rescan.id == run.id)
        ).one()
        where = _window(run)
        if at is not None:
            where.append(
                or_(
                    ContentItem.created_at > at,
                    and_(ContentItem.created_at == at, ContentItem.id > last),
                )
            )
        rows = session.execute(
            select(
                ContentItem.id,
                ContentItem.created_at,
                ContentItem.content_id,
                ContentItem.subject,
                ContentItem.kind,
                ContentItem.text,
                ContentItem.verdict,
                ContentItem.rule_counts,
            )
            .where(*where)
            .order_by(ContentItem.created_at, ContentItem.id)
            .limit(size)
        ).all()
        legacy = _counted_from_findings(session, [r.id for r in rows if r.rule_counts is None])
    return [
        StoredRow(
            r.id,
            r.created_at,
            r.content_id,
            r.subject,
            r.kind,
            r.text,
            Verdict(r.verdict),
            tuple(_rule_count(c) for c in r.rule_counts)
            if r.rule_counts is not None
            else legacy.get(r.id, ()),
        )
        for r in rows
    ]


def _rule_count(stored: dict[str, Any]) -> RuleCount:
    mode = Mode(stored["mode"])
    return RuleCount(
        stored["rule"], stored["category"], Action(stored["action"]), mode, stored["matches"]
    )


def _counted_from_findings(
    session: Session, item_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[RuleCount, ...]]:
    """Rule counts of items stored before counts were: from their findings."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(
            ContentFinding.item_id,
            ContentFinding.rule,
            ContentFinding.category,
            ContentFinding.action,
            ContentFinding.mode,
            func.count(),
        )
        .where(ContentFinding.item_id.in_(item_ids))
        .group_by(
            ContentFinding.item_id,
            ContentFinding.rule,
            ContentFinding.category,
            ContentFinding.action,
            ContentFinding.mode,
        )
    ).all()
    counted: dict[uuid.UUID, list[RuleCount]] = {}
    for item_id, rule, category, action, mode, n in rows:
        counted.setdefault(item_id, []).append(RuleCount(rule, category, action, mode, n))
    return {k: tuple(v) for k, v in counted.items()}


@dataclass(frozen=True, slots=True)
class Applier:
    """How ``apply`` acts: the rule set's screener (for the verdict's findings) and the
    listener that reviews stored verdicts (the desk's)."""

    screen: Callable[[str], Screening]
    listener: service.ScreeningListener | None


def _already_acted(session: Session, run: RescanView, row: StoredRow, verdict: Verdict) -> bool:
    with read_transaction(session):
        found = session.scalar(
            select(ContentItem.id)
            .where(
                ContentItem.service_id == run.spec.service_id,
                ContentItem.content_id == row.content_id,
                ContentItem.ruleset == run.spec.ruleset,
                ContentItem.verdict == str(verdict),
            )
            .limit(1)
        )
    return found is not None


def _act(session: Session, run: RescanView, row: StoredRow, applier: Applier) -> None:
    """The stricter verdict on ``row`` through the normal flow, unless already acted on."""
    screening = applier.screen(row.text)
    if screening.ruleset != run.spec.ruleset:
        raise RescanMismatch("the screener given to apply is not the rescan's rule set")
    if _already_acted(session, run, row, screening.verdict):
        return
    item = service.ContentIn(row.content_id, row.text, row.subject, row.kind)
    context = {"rescan": str(run.id), "rescanned_item": str(row.id)}
    service.record(
        session,
        run.spec.service_id,
        item,
        screening,
        context=context,
        listener=applier.listener,
    )


def step(
    session: Session,
    run: RescanView,
    engine: Engine,
    *,
    applier: Applier | None = None,
    page: int = PAGE,
) -> RescanView:
    """Screen the next page; returns the run with its report so far (status ``done`` once
    no item is left)."""
    if run.status == DONE:
        return run
    if run.spec.apply and applier is None:
        raise InvalidInput("an applying rescan needs an applier")
    rows = _page(session, run, page)
    report = copy.deepcopy(run.report)
    if rows:
        outcomes = engine(rows)
        if len(outcomes) != len(rows):
            raise RuntimeError(f"the engine answered {len(outcomes)} verdicts for {len(rows)}")
        for row, (verdict, counts) in zip(rows, outcomes, strict=True):
            reports.add(
                report,
                reports.Rescreened(
                    str(row.id),
                    row.content_id,
                    row.verdict,
                    verdict,
                    reports.rules_of(row.rule_counts),
                    reports.rules_of(counts),
                ),
            )
            if applier is not None and run.spec.apply and reports.stricter(row.verdict, verdict):
                _act(session, run, row, applier)
                report["applied"] += 1
    status = RUNNING if len(rows) == page else DONE
    values: dict[str, Any] = {"report": report, "status": status, "updated_at": utcnow()}
    if rows:
        values |= {"cursor_at": rows[-1].created_at, "cursor_id": rows[-1].id}
    with transaction(session):
        session.execute(update(Rescan).where(Rescan.id == run.id).values(**values))
    return RescanView(run.id, run.spec, run.until, status, report, run.resumed)


def run_to_end(
    session: Session,
    run: RescanView,
    engine: Engine,
    *,
    applier: Applier | None = None,
    page: int = PAGE,
    progress: Callable[[int], None] | None = None,
) -> RescanView:
    """Step until done; ``progress(items counted so far)`` after each page."""
    while run.status != DONE:
        run = step(session, run, engine, applier=applier, page=page)
        if progress is not None:
            progress(run.report["items"])
    return run
