"""Strikes against a subject for each restriction, and what they bring (DSA art. 23).

Every decision that restricts something strikes its subject; a strike expires after the
policy's days and is withdrawn when its decision is reversed. At ``warn_at`` active strikes
the subject is warned; at ``suspend_at`` posting is suspended, fully automatically, for the
pack's misuse period. A subject already suspended is not suspended again: its further
strikes are counted, and once the suspension ends the next restriction suspends it anew.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.cases.journal import Subject, log, suspensions_in_force
from trustdesk.cases.models import AutomatedDecision, Decision, Statement, Strike
from trustdesk.cases.outcomes import Docket, Outcome, Ruling, add_statement, longest, record
from trustdesk.cases.service import subject_digest
from trustdesk.cases.statements import render_warning
from trustdesk.policy.params import MisuseSuspensionParams
from trustdesk.policy.schema import Pack
from trustdesk.policy.vocabulary import ActionKind
from trustdesk.records.events import EventType

DEFAULT_SUSPENSION_DAYS = 30


@dataclass(frozen=True, slots=True)
class StrikePolicy:
    """When strikes bring a warning and then an automatic suspension."""

    warn_at: int = 2
    suspend_at: int = 3
    expiry_days: int = 365


def suspension_days(packs: Sequence[Pack]) -> int:
    period = MisuseSuspensionParams
    return longest(packs, period, lambda o: o.period_days, DEFAULT_SUSPENSION_DAYS)


def _active_strikes(session: Session, service_id: uuid.UUID, subject: str, moment: datetime) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Strike)
            .where(
                Strike.service_id == service_id,
                Strike.subject == subject,
                Strike.expires_at > moment,
                Strike.withdrawn_at.is_(None),
            )
        )
        or 0
    )


def strike(docket: Docket, outcome: Outcome, ruling: Ruling, policy: StrikePolicy) -> Outcome:
    """A strike for a restriction, and the warning or suspension it may bring."""
    session, case, moment = docket.session, docket.case, ruling.moment
    if case.subject is None or not outcome.decision.actions:
        return outcome
    docket.add(
        Strike(
            service_id=case.service_id,
            subject=case.subject,
            decision_id=outcome.decision.id,
            expires_at=moment + timedelta(days=policy.expiry_days),
            created_at=moment,
        )
    )
    if docket.batch is None:
        session.flush()
        active = _active_strikes(session, case.service_id, case.subject, moment)
    else:
        active = docket.batch.struck((case.service_id, case.subject), moment)
    follow_up: tuple[Outcome, ...] = ()
    if active == policy.warn_at:
        warning = _warning(docket, outcome.decision, active=active, policy=policy)
        follow_up = (Outcome(outcome.decision, (), (warning,)),)
    elif (
        active >= policy.suspend_at
        and ActionKind.SUSPEND_UPDATES not in outcome.decision.actions
        and not _suspended(docket, (case.service_id, case.subject), moment)
    ):
        until = moment + timedelta(days=suspension_days(docket.packs))
        facts = (
            f"{active} restrictions of this account within {policy.expiry_days} days, after a "
            f"warning at {policy.warn_at}; posting is suspended until {until:%Y-%m-%d}."
        )
        suspension = replace(
            ruling,
            kinds=(ActionKind.SUSPEND_UPDATES,),
            facts=facts,
            until=until,
            automated_detection=False,
            automated_decision=AutomatedDecision.FULLY,
            decided_by=None,
        )
        follow_up = (record(docket, suspension),)
        if docket.batch is not None:
            docket.batch.suspend((case.service_id, case.subject), until)
    return Outcome(outcome.decision, outcome.actions, outcome.statements, active, follow_up)


def _suspended(docket: Docket, subject: Subject, moment: datetime) -> bool:
    """Whether a suspension of ``subject`` is in force: then a further strike is counted
    but brings no new suspension (one at a time; it is not extended item by item)."""
    if docket.batch is not None:
        return docket.batch.suspended(subject)
    return subject in suspensions_in_force(docket.session, [subject], moment)


def _warning(docket: Docket, decision: Decision, *, active: int, policy: StrikePolicy) -> Statement:
    case = docket.case
    text = render_warning(
        case.language,
        active=active,
        decision_id=decision.puid,
        suspend_at=policy.suspend_at,
        days=suspension_days(docket.packs),
    )
    log(
        docket.session,
        docket.journal,
        EventType.CASES_SUBJECT_WARNED,
        service_id=case.service_id,
        data={"decision_id": str(decision.id), "subject_digest": subject_digest(case.subject)},
        now=decision.decided_at,
    )
    return add_statement(docket, decision, text)


def withdraw(session: Session, decision: Decision, moment: datetime) -> None:
    """Withdraw the strikes a reversed decision brought."""
    for found in session.scalars(select(Strike).where(Strike.decision_id == decision.id)):
        found.withdrawn_at = moment
