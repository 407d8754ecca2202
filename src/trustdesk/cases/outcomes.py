"""What a decision leaves behind: the decision itself, one action per kind, a statement of
reasons in the subject's language, and the record-log entries of each.

A first decision, an automated one, a strike's suspension and an appeal's reversal are all
recorded here; :class:`Ruling` is what each of them decides, :class:`Docket` the case it is
decided on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from trustdesk.cases.journal import Batch, Journal, log
from trustdesk.cases.models import (
    Action,
    ActionStatus,
    AutomatedDecision,
    Case,
    Decision,
    Statement,
)
from trustdesk.cases.service import ResolvedCategory, subject_digest
from trustdesk.cases.statements import StatementFacts, render
from trustdesk.policy.params import InternalComplaintsParams
from trustdesk.policy.schema import Pack
from trustdesk.policy.vocabulary import ActionKind
from trustdesk.records.events import EventType

CONTENT_ACTIONS = frozenset({ActionKind.STOP_DISSEMINATION, ActionKind.DELETE})
ACCOUNT_ACTIONS = frozenset({ActionKind.SUSPEND_UPDATES, ActionKind.CLOSE_ACCOUNT})
DEFAULT_APPEAL_DAYS = 183
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Docket:
    """The case a decision is taken on, in the session it is taken in, under the packs of
    the case's service."""

    session: Session
    packs: Sequence[Pack]
    case: Case
    batch: Batch | None = None  # in a batch of follow-ups: logged and flushed with it

    @property
    def journal(self) -> Journal | None:
        return self.batch.journal if self.batch is not None else None

    def add(self, row: object) -> None:
        """A new row: to the session, or to the batch, which writes it at its end."""
        if self.batch is not None:
            self.batch.add(row)
        else:
            self.session.add(row)

    def flush(self) -> None:
        """Flush now, unless a batch writes at its end."""
        if self.batch is None:
            self.session.flush()


@dataclass(frozen=True, slots=True)
class Ruling:
    """What one decision rules: its ground, the actions (with a suspension's end), the facts
    they rest on, how detection and decision were made, by whom and when."""

    category: ResolvedCategory
    kinds: tuple[ActionKind, ...]
    facts: str
    until: datetime | None
    automated_detection: bool
    automated_decision: AutomatedDecision
    decided_by: uuid.UUID | None
    moment: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision and everything it produced."""

    decision: Decision
    actions: tuple[Action, ...]
    statements: tuple[Statement, ...]
    strikes: int = 0
    follow_up: tuple[Outcome, ...] = field(default_factory=tuple)


def pack_named(packs: Sequence[Pack], pack_id: str) -> Pack | None:
    return next((p for p in packs if p.id == pack_id), None)


def longest(packs: Sequence[Pack], kind: type[P], days: Callable[[P], int], default: int) -> int:
    """The most days any of ``packs``' obligations of parameters ``kind`` gives, else
    ``default``."""
    found = [days(o.params) for p in packs for o in p.obligations if isinstance(o.params, kind)]
    return max(found, default=default)


def appeal_days(packs: Sequence[Pack]) -> int:
    return longest(packs, InternalComplaintsParams, lambda o: o.window_days, DEFAULT_APPEAL_DAYS)


def _source(case: Case) -> str:
    if case.notices:
        return "notice"
    return "screening" if case.automated_detection else "own"


def _statement(
    docket: Docket, decision: Decision, category: ResolvedCategory, reversal: str | None
) -> Statement:
    case, packs = docket.case, docket.packs
    facts = StatementFacts(
        decision_id=decision.puid,
        decided_at=decision.decided_at,
        language=case.language,
        pack=pack_named(packs, category.pack_id),
        category=category.category,
        category_label=(category.label_en, category.label_zh),
        article=category.article,
        basis=category.basis,
        actions=tuple(decision.actions),
        until=decision.suspend_until,
        facts=decision.facts,
        source=_source(case),
        trusted=case.trusted,
        automated_detection=decision.automated_detection,
        automated_decision=str(decision.automated_decision),
        appeal_until=decision.decided_at + timedelta(days=appeal_days(packs)),
        reversal=reversal,
    )
    return add_statement(docket, decision, render(facts))


def add_statement(docket: Docket, decision: Decision, text: str) -> Statement:
    """A statement (of reasons, or a warning) on ``decision`` to the case's subject."""
    case = docket.case
    statement = Statement(
        decision_id=decision.id,
        service_id=case.service_id,
        subject=case.subject,
        language=case.language,
        text=text,
        created_at=decision.decided_at,
    )
    docket.add(statement)
    return statement


def record(docket: Docket, ruling: Ruling, *, appeal_of: Decision | None = None) -> Outcome:
    """Store a decision with its actions and statement, and log it."""
    session, case, category = docket.session, docket.case, ruling.category
    decision_id = uuid.uuid4()
    decision = Decision(
        id=decision_id,
        case_id=case.id,
        service_id=case.service_id,
        puid=f"td-{decision_id.hex}",
        pack_id=category.pack_id,
        category=category.category,
        citation=category.article,
        basis=category.basis,
        actions=[str(k) for k in ruling.kinds],
        suspend_until=ruling.until,
        facts=ruling.facts,
        automated_detection=ruling.automated_detection,
        automated_decision=ruling.automated_decision,
        decided_by=ruling.decided_by,
        decided_at=ruling.moment,
        content_date=case.opened_at,
        appeal_of=appeal_of.id if appeal_of is not None else None,
        time_to_action_ms=max(0, int((ruling.moment - case.opened_at).total_seconds() * 1000)),
    )
    log(
        session,
        docket.journal,
        EventType.CASES_DECISION_MADE,
        service_id=case.service_id,
        data={
            "decision_id": str(decision_id),
            "case_id": str(case.id),
            "category": category.key,
            "actions": [str(k) for k in ruling.kinds],
            "automated_decision": str(ruling.automated_decision),
            "automated_detection": ruling.automated_detection,
            "by": str(ruling.decided_by) if ruling.decided_by else None,
            "appeal_of": str(appeal_of.id) if appeal_of is not None else None,
            "subject_digest": subject_digest(case.subject),
        },
        now=ruling.moment,
        row=decision,
    )
    docket.add(decision)
    docket.flush()
    actions = tuple(_action(docket, decision, kind, ruling) for kind in ruling.kinds)
    statements: tuple[Statement, ...] = ()
    if ruling.kinds:
        restores = appeal_of is not None and ruling.kinds == (ActionKind.RESTORE,)
        reversal = appeal_of.puid if appeal_of is not None and restores else None
        statements = (_statement(docket, decision, category, reversal),)
    docket.flush()
    return Outcome(decision, actions, statements)


def _action(docket: Docket, decision: Decision, kind: ActionKind, ruling: Ruling) -> Action:
    case = docket.case
    account = kind in ACCOUNT_ACTIONS
    action = Action(
        id=uuid.uuid4(),
        decision_id=decision.id,
        service_id=case.service_id,
        kind=str(kind),
        content_id=None if account else (case.content_id or case.url),
        subject=case.subject,
        until=ruling.until if kind is ActionKind.SUSPEND_UPDATES else None,
        status=ActionStatus.PENDING,
        attempts=0,
        next_attempt_at=ruling.moment,
        created_at=ruling.moment,
    )
    log(
        docket.session,
        docket.journal,
        EventType.CASES_ACTION_ISSUED,
        service_id=case.service_id,
        data={"action_id": str(action.id), "decision_id": str(decision.id), "kind": str(kind)},
        now=ruling.moment,
        row=action,
    )
    docket.add(action)
    return action
