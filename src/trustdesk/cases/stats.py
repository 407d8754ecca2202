"""Counts over notices, decisions, actions, appeals and strikes, for transparency reports.

Every figure is over a half-open time window ``[start, end)`` and optionally one service;
each is a plain query, so the report can be cross-checked against the record log.
"""

from __future__ import annotations

import statistics
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trustdesk.cases.models import (
    Action,
    ActionStatus,
    Appeal,
    AppealStatus,
    Case,
    CaseStatus,
    Decision,
    Notice,
    Statement,
    Strike,
)
from trustdesk.db.engine import read_transaction
from trustdesk.policy.vocabulary import ActionKind
from trustdesk.records import service as records
from trustdesk.records.events import EventType


@dataclass(frozen=True, slots=True)
class CaseFigures:
    notices_by_category: dict[str, int] = field(default_factory=dict)
    notices_by_source: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    decisions_by_action: dict[str, int] = field(default_factory=dict)
    decisions_by_basis: dict[str, int] = field(default_factory=dict)
    automated_detection: dict[str, int] = field(default_factory=dict)
    automated_decision: dict[str, int] = field(default_factory=dict)
    median_notice_to_action_hours: float | None = None
    median_notice_to_decision_hours: float | None = None
    actions_by_status: dict[str, int] = field(default_factory=dict)
    appeals_by_outcome: dict[str, int] = field(default_factory=dict)
    reversals: int = 0
    strikes: int = 0
    suspensions: int = 0


Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


def _window(query: Q, column: Any, start: datetime, end: datetime) -> Q:
    return query.where(column >= start, column < end)


def _scoped(query: Q, column: Any, service_id: uuid.UUID | None) -> Q:
    return query if service_id is None else query.where(column == service_id)


def _hours(seconds: list[float]) -> float | None:
    return round(statistics.median(seconds) / 3600, 3) if seconds else None


def figures(
    session: Session, start: datetime, end: datetime, service_id: uuid.UUID | None = None
) -> CaseFigures:
    with read_transaction(session):
        notices = session.execute(
            _scoped(
                _window(
                    select(Notice.category, Notice.trusted_flagger_id),
                    Notice.received_at,
                    start,
                    end,
                ),
                Notice.service_id,
                service_id,
            )
        ).all()
        decisions = session.scalars(
            _scoped(
                _window(select(Decision), Decision.decided_at, start, end),
                Decision.service_id,
                service_id,
            )
        ).all()
        actions = session.execute(
            _scoped(
                _window(select(Action.status, func.count()), Action.created_at, start, end),
                Action.service_id,
                service_id,
            ).group_by(Action.status)
        ).all()
        appeals = session.execute(
            _scoped(
                _window(select(Appeal.status, func.count()), Appeal.filed_at, start, end),
                Appeal.service_id,
                service_id,
            ).group_by(Appeal.status)
        ).all()
        strikes = session.scalar(
            _scoped(
                _window(select(func.count()).select_from(Strike), Strike.created_at, start, end),
                Strike.service_id,
                service_id,
            )
        )
        timing = session.execute(
            _scoped(
                _window(
                    select(
                        func.min(Notice.received_at),
                        func.min(Decision.decided_at),
                        func.min(Action.delivered_at),
                    )
                    .join(Decision, Decision.case_id == Notice.case_id)
                    .outerjoin(Action, Action.decision_id == Decision.id),
                    Decision.decided_at,
                    start,
                    end,
                ),
                Notice.service_id,
                service_id,
            ).group_by(Notice.case_id)
        ).all()
    to_decision = [(d - n).total_seconds() for n, d, _ in timing if n and d]
    to_action = [(a - n).total_seconds() for n, _, a in timing if n and a]
    by_action: Counter[str] = Counter()
    for decision in decisions:
        by_action.update(decision.actions or ["no_action"])
    return CaseFigures(
        notices_by_category=dict(Counter(category for category, _ in notices)),
        notices_by_source=dict(
            Counter("trusted_flagger" if flagger else "anyone" for _, flagger in notices)
        ),
        decisions=len(decisions),
        decisions_by_action=dict(by_action),
        decisions_by_basis=dict(Counter(d.basis for d in decisions)),
        automated_detection=dict(
            Counter("yes" if d.automated_detection else "no" for d in decisions)
        ),
        automated_decision=dict(Counter(str(d.automated_decision) for d in decisions)),
        median_notice_to_action_hours=_hours(to_action),
        median_notice_to_decision_hours=_hours(to_decision),
        actions_by_status={str(status): int(n) for status, n in actions},
        appeals_by_outcome={str(status): int(n) for status, n in appeals},
        reversals=sum(
            1 for d in decisions if d.appeal_of is not None and d.actions == [ActionKind.RESTORE]
        ),
        strikes=int(strikes or 0),
        suspensions=sum(1 for d in decisions if ActionKind.SUSPEND_UPDATES in (d.actions or [])),
    )


def cases_open(session: Session, service_id: uuid.UUID | None = None) -> int:
    with read_transaction(session):
        query = select(func.count()).select_from(Case).where(Case.status != CaseStatus.DECIDED)
        return int(session.scalar(_scoped(query, Case.service_id, service_id)) or 0)


@dataclass(frozen=True, slots=True)
class Health:
    """How the enforcement pipeline of a service is doing right now."""

    dead_actions: int
    late_actions: int  # pending longer than the allowed delay
    restrictions_without_statement: int
    late_appeals: int  # pending longer than the allowed delay
    reports_sent: int


def health(
    session: Session,
    service_id: uuid.UUID,
    now: datetime,
    *,
    action_delay: timedelta = timedelta(hours=1),
    appeal_delay: timedelta = timedelta(days=14),
) -> Health:
    with read_transaction(session):
        dead = session.scalar(
            select(func.count())
            .select_from(Action)
            .where(Action.service_id == service_id, Action.status == ActionStatus.DEAD)
        )
        late = session.scalar(
            select(func.count())
            .select_from(Action)
            .where(
                Action.service_id == service_id,
                Action.status == ActionStatus.PENDING,
                Action.created_at < now - action_delay,
            )
        )
        stated = select(Statement.decision_id)
        unstated = session.scalars(
            select(Decision.actions).where(
                Decision.service_id == service_id, Decision.id.not_in(stated)
            )
        ).all()
        appeals = session.scalar(
            select(func.count())
            .select_from(Appeal)
            .where(
                Appeal.service_id == service_id,
                Appeal.status == AppealStatus.PENDING,
                Appeal.filed_at < now - appeal_delay,
            )
        )
    reports = records.count(session, EventType.CASES_REPORT_SENT, service_id=service_id)
    return Health(
        int(dead or 0),
        int(late or 0),
        sum(1 for actions in unstated if actions),
        int(appeals or 0),
        reports,
    )
