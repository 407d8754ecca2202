"""Streaming the statements of reasons of a period out of the database, one JSON line each.

:func:`export` reads the period's decisions a batch at a time and yields each one's
statement (built by :func:`trustdesk.cases.sor_mapping.statement_for`) or why it has none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from trustdesk.cases.models import Case, Decision, TrustedFlagger
from trustdesk.cases.sor import PACK_ID, TERMS_PACK_ID, StatementRejected
from trustdesk.cases.sor_mapping import statement_for
from trustdesk.db.engine import read_transaction
from trustdesk.errors import InvalidInput
from trustdesk.policy.schema import Pack


@dataclass(frozen=True, slots=True)
class Period:
    """Which decisions to export: decided on ``since`` .. ``until`` (UTC days, inclusive)."""

    since: date | None = None
    until: date | None = None
    service_id: uuid.UUID | None = None
    terms_services: frozenset[uuid.UUID] = frozenset()  # services under eu-dsa: their tos.*

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InvalidInput(f"--since {self.since} is after --until {self.until}")

    def where(self) -> list[ColumnElement[bool]]:
        packs = Decision.pack_id == PACK_ID
        if self.terms_services:
            terms = and_(
                Decision.pack_id == TERMS_PACK_ID,
                Decision.service_id.in_(sorted(self.terms_services)),
            )
            packs = or_(packs, terms)
        clauses: list[ColumnElement[bool]] = [packs]
        if self.since is not None:
            clauses.append(Decision.decided_at >= _midnight(self.since))
        if self.until is not None:
            clauses.append(Decision.decided_at < _midnight(self.until) + timedelta(days=1))
        if self.service_id is not None:
            clauses.append(Decision.service_id == self.service_id)
        return clauses


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Exported:
    """One decision of the period: its statement's line, or why it has none."""

    puid: str
    line: str | None
    rejected: str | None = None  # why no valid statement could be built


def count(session: Session, period: Period) -> int:
    """How many decisions the period holds (for a progress bar)."""
    with read_transaction(session):
        query = select(func.count()).select_from(Decision).where(*period.where())
        return int(session.scalar(query) or 0)


def export(
    session: Session,
    pack: Pack,
    period: Period,
    *,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Exported]:
    """Every decision of ``period`` with its statement, oldest first, ``batch`` at a time.

    Decisions that restrict nothing are not yielded. Each batch's rows leave the session
    before the next is read, so memory stays bounded however long the period.
    """
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        with read_transaction(session):
            query = select(Decision).where(*period.where())
            if after is not None:
                query = query.where(
                    or_(
                        Decision.decided_at > after[0],
                        and_(Decision.decided_at == after[0], Decision.id > after[1]),
                    )
                )
            rows = list(
                session.scalars(query.order_by(Decision.decided_at, Decision.id).limit(batch))
            )
            if not rows:
                return
            after = (rows[-1].decided_at, rows[-1].id)
            cases = {
                c.id: c
                for c in session.scalars(select(Case).where(Case.id.in_({d.case_id for d in rows})))
            }
            flagger_ids = {
                n.trusted_flagger_id
                for c in cases.values()
                for n in c.notices
                if n.trusted_flagger_id is not None
            }
            named = select(TrustedFlagger.id, TrustedFlagger.name).where(
                TrustedFlagger.id.in_(flagger_ids)
            )
            flaggers = {row.id: row.name for row in session.execute(named)}
            out = list(_lines(rows, cases, pack, flaggers))
            _forget(session, rows, cases.values())
        yield from out
        if progress is not None:
            progress(len(rows))


def _lines(
    rows: Sequence[Decision],
    cases: Mapping[uuid.UUID, Case],
    pack: Pack,
    flaggers: Mapping[uuid.UUID, str],
) -> Iterator[Exported]:
    for decision in rows:
        try:
            statement = statement_for(decision, cases[decision.case_id], pack, flaggers=flaggers)
        except StatementRejected as exc:
            yield Exported(decision.puid, None, exc.message)
            continue
        if statement is not None:
            yield Exported(decision.puid, statement.json_line())


def _forget(session: Session, rows: Sequence[Decision], cases: Collection[Case]) -> None:
    loaded: list[object] = [*rows]
    for case in cases:
        loaded += [case, *case.notices, *case.items, *case.decisions]
    for obj in loaded:
        if obj in session:
            session.expunge(obj)
