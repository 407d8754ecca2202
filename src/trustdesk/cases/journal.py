"""A batch of follow-ups written as a whole: its log entries appended with one call at the
end, its rows flushed once, its open cases and its subjects' strikes read once.

:func:`trustdesk.cases.screened.on_screened_many` follows up a drain batch of screened items
in one :class:`Batch`. Each item's case, decision, actions, statements and strikes are made
as one by one (the same rows, the same entries in the same order), but:

- the log entries wait in the :class:`Journal` and go to the log in order, in one
  ``append_many`` per moment, when the batch ends; each then gives its row its index;
- nothing is flushed before that (the rows wait in the session, with autoflush off), and
  then all at once;
- the open cases about the batch's targets are read in one query (:meth:`Batch.open_case`
  answers from it, and from the cases the batch opened or decided itself);
- the active strikes of a subject are counted once, then kept up to date as the batch
  strikes (:meth:`Batch.struck`), and so is whether a suspension of it is in force
  (:meth:`Batch.suspended`, when its strikes reach a suspension).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, func, insert, select, tuple_
from sqlalchemy.orm import Session

from trustdesk.cases.models import (
    Action,
    Case,
    CaseItem,
    CaseStatus,
    Decision,
    Statement,
    Strike,
)
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType

Target = tuple[uuid.UUID, str]  # (service, target key) of a case
Subject = tuple[uuid.UUID, str]  # (service, subject) of a strike
_WRITTEN = (Case, CaseItem, Decision, Action, Statement, Strike)  # what a batch makes, in order
_TABLES = {model: cast(Table, model.__table__) for model in _WRITTEN}
_COLUMNS = {model: frozenset(table.columns.keys()) for model, table in _TABLES.items()}


class Indexed(Protocol):
    """A row that carries the index of its log entry."""

    log_index: int


@dataclass(slots=True)
class Journal:
    """Log entries waiting for the end of the batch, in order, with the row each indexes."""

    _waiting: list[tuple[leaf.Event, datetime, Indexed | None]] = field(default_factory=list)

    def add(
        self,
        type_: EventType,
        service_id: uuid.UUID | None,
        data: Mapping[str, Any],
        now: datetime,
        row: Indexed | None = None,
    ) -> None:
        self._waiting.append((leaf.Event(type_, service_id, data), now, row))

    def __len__(self) -> int:
        return len(self._waiting)

    def close(self, session: Session) -> None:
        """Append the waiting entries in order (one call per run of one moment) and give
        each row its entry's index (no autoflush meanwhile: the rows wait for theirs)."""
        with session.no_autoflush:
            self._append(session)

    def _append(self, session: Session) -> None:
        waiting, self._waiting = self._waiting, []
        start = 0
        while start < len(waiting):
            moment = waiting[start][1]
            end = start
            while end < len(waiting) and waiting[end][1] == moment:
                end += 1
            run = waiting[start:end]
            appended = records.append_many(session, [event for event, _, _ in run], now=moment)
            for (_, _, row), entry in zip(run, appended, strict=True):
                if row is not None:
                    row.log_index = entry.index
            start = end


def log(
    session: Session,
    journal: Journal | None,
    type_: EventType,
    *,
    service_id: uuid.UUID | None,
    data: Mapping[str, Any],
    now: datetime,
    row: Indexed | None = None,
) -> None:
    """Log an event now (no journal) or when the batch ends, giving ``row`` its index."""
    if journal is not None:
        journal.add(type_, service_id, data, now, row)
        return
    appended = records.append(session, type_, service_id=service_id, data=data, now=now)
    if row is not None:
        row.log_index = appended.index


@dataclass(slots=True)
class Batch:
    """What a batch of follow-ups reads once and keeps up to date as it goes."""

    session: Session
    moment: datetime
    journal: Journal = field(default_factory=Journal)
    _cases: dict[Target, Case | None] = field(default_factory=dict)  # None: no open one
    _strikes: dict[Subject, int] = field(default_factory=dict)
    _suspended: dict[Subject, datetime | None] = field(default_factory=dict)  # until
    _made: list[object] = field(default_factory=list)

    def read_cases(self, targets: Iterable[Target]) -> None:
        """Read (and lock) the open cases about ``targets`` in one query."""
        wanted = set(targets) - self._cases.keys()
        if not wanted:
            return
        query = (
            select(Case)
            .where(tuple_(Case.service_id, Case.target).in_(sorted(wanted)))
            .where(Case.status == CaseStatus.OPEN)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        self._cases.update(dict.fromkeys(wanted))  # read: none, unless found
        for case in self.session.scalars(query):
            if self._cases.get((case.service_id, case.target)) is None:
                self._cases[(case.service_id, case.target)] = case

    def open_case(self, target: Target) -> Case | None:
        """The open case about ``target``, as this batch left it (read first if unread)."""
        case = self._cases.get(target)
        if case is None and target not in self._cases:
            self.read_cases([target])
            case = self._cases.get(target)
        return case if case is not None and case.status is CaseStatus.OPEN else None

    def opened(self, case: Case) -> None:
        """A case this batch opened: later items about its target join it."""
        self._cases[(case.service_id, case.target)] = case

    def read_strikes(self, subjects: Iterable[Subject]) -> None:
        """Count the active strikes of ``subjects`` in one query."""
        wanted = set(subjects) - self._strikes.keys()
        if not wanted:
            return
        self._strikes.update(dict.fromkeys(wanted, 0))
        query = (
            select(Strike.service_id, Strike.subject, func.count())
            .where(tuple_(Strike.service_id, Strike.subject).in_(sorted(wanted)))
            .where(Strike.expires_at > self.moment, Strike.withdrawn_at.is_(None))
            .group_by(Strike.service_id, Strike.subject)
        )
        for service_id, subject, count in self.session.execute(query):
            self._strikes[(service_id, subject)] = int(count)

    def add(self, row: object) -> None:
        """A new row of the batch, written at its end (never added to the session)."""
        if type(row) not in _TABLES:
            raise TypeError(f"a batch writes no {type(row).__name__}")
        self._made.append(row)

    def flush(self) -> None:
        """Write the batch: its entries first (each row then has its index), then its new
        rows, one INSERT per table (and set of columns) in the order of what they refer to,
        and what changed in the cases it joined. The new rows stay out of the session: they
        are written, not loaded."""
        session = self.session
        self.journal.close(session)
        made, self._made = self._made, []
        for model, table in _TABLES.items():
            groups: dict[frozenset[str], list[dict[str, Any]]] = {}
            for row in made:
                if type(row) is model:
                    values = {k: v for k, v in vars(row).items() if k in _COLUMNS[model]}
                    groups.setdefault(frozenset(values), []).append(values)
            for rows in groups.values():
                session.execute(insert(table), rows)  # executemany: no RETURNING
        session.flush()  # what changed in joined cases

    def suspended(self, subject: Subject) -> bool:
        """Whether a suspension of ``subject`` is in force at the batch's moment: one in the
        database (read once), or one the batch decided."""
        if subject not in self._suspended:
            found = suspensions_in_force(self.session, [subject], self.moment)
            self._suspended[subject] = found.get(subject)
        until = self._suspended[subject]
        return until is not None and until > self.moment

    def suspend(self, subject: Subject, until: datetime) -> None:
        """The batch decided a suspension of ``subject`` until ``until``."""
        self._suspended[subject] = until

    def struck(self, subject: Subject, moment: datetime) -> int:
        """A strike was added against ``subject`` at ``moment`` (the batch's): its active
        strikes now, this one included."""
        if moment != self.moment:
            raise ValueError("a batch strikes at its own moment")
        self.read_strikes([subject])
        self._strikes[subject] += 1
        return self._strikes[subject]


def suspensions_in_force(
    session: Session, subjects: Iterable[Subject], moment: datetime
) -> dict[Subject, datetime]:
    """When the suspension in force of each of ``subjects`` ends (decided, not reversed,
    ending after ``moment``); a subject with none is left out."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    query = (
        select(Case.service_id, Case.subject, func.max(Decision.suspend_until))
        .join(Case, Case.id == Decision.case_id)
        .where(Decision.service_id.in_({service for service, _ in wanted}))
        .where(Decision.suspend_until > moment, Decision.reversed_by.is_(None))
        .where(tuple_(Case.service_id, Case.subject).in_(wanted))
        .group_by(Case.service_id, Case.subject)
    )
    found = session.execute(query)
    return {(service, str(subject)): until for service, subject, until in found if until}
