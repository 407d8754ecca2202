"""Decisions on cases, and what follows from each: actions, statements, strikes, appeals.

A decision names the category and the article relied on, the actions, the facts, and
whether detection and decision were automated. Every restriction yields one action per
kind (delivered to the service), a statement of reasons in the subject's language, and a
strike against the subject; strikes past the thresholds bring a warning, then an
automatic suspension (DSA art. 23). An appeal is decided by a senior moderator who did
not take the decision; a reversal restores what was restricted and gets its own statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.callers import UserCaller
from trustdesk.cases.models import (
    Action,
    ActionStatus,
    Appeal,
    AppealStatus,
    AutomatedDecision,
    Case,
    CaseStatus,
    Decision,
    Notice,
    Statement,
    Strike,
)
from trustdesk.cases.service import (
    CaseClosed,
    ResolvedCategory,
    get_case,
    require_claim,
    resolve_category,
    subject_digest,
)
from trustdesk.cases.statements import StatementFacts, render, render_warning
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trustdesk.permissions import Permission
from trustdesk.policy.params import InternalComplaintsParams, MisuseSuspensionParams
from trustdesk.policy.schema import Pack
from trustdesk.policy.vocabulary import ActionKind
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.text import has_forbidden_characters

MAX_FACTS = 5000
CONTENT_ACTIONS = frozenset({ActionKind.STOP_DISSEMINATION, ActionKind.DELETE})
ACCOUNT_ACTIONS = frozenset({ActionKind.SUSPEND_UPDATES, ActionKind.CLOSE_ACCOUNT})
DEFAULT_APPEAL_DAYS = 183
DEFAULT_SUSPENSION_DAYS = 30
MAX_SUSPENSION = timedelta(days=3650)


class InvalidDecision(InvalidInput):
    code = "invalid_decision"


class DecisionNotFound(NotFound):
    code = "decision_not_found"


class AppealNotFound(NotFound):
    code = "appeal_not_found"


class AppealNotAllowed(Conflict):
    code = "appeal_not_allowed"
    title = "Appeal not allowed"


class SameReviewer(PermissionDenied):
    code = "appeal_same_reviewer"
    title = "Appeal needs another reviewer"


@dataclass(frozen=True, slots=True)
class StrikePolicy:
    """When strikes bring a warning and then an automatic suspension."""

    warn_at: int = 2
    suspend_at: int = 3
    expiry_days: int = 365


@dataclass(frozen=True, slots=True)
class DecisionIn:
    category: str
    actions: tuple[ActionKind, ...]
    facts: str
    suspend_until: datetime | None = None
    automated_detection: bool | None = None  # None: as the case was found


@dataclass(frozen=True, slots=True)
class Outcome:
    """A decision and everything it produced."""

    decision: Decision
    actions: tuple[Action, ...]
    statements: tuple[Statement, ...]
    strikes: int = 0
    follow_up: tuple[Outcome, ...] = field(default_factory=tuple)


def _pack(packs: Sequence[Pack], pack_id: str) -> Pack | None:
    return next((p for p in packs if p.id == pack_id), None)


def appeal_days(packs: Sequence[Pack]) -> int:
    windows = [
        o.params.window_days
        for p in packs
        for o in p.obligations
        if isinstance(o.params, InternalComplaintsParams)
    ]
    return max(windows, default=DEFAULT_APPEAL_DAYS)


def suspension_days(packs: Sequence[Pack]) -> int:
    periods = [
        o.params.period_days
        for p in packs
        for o in p.obligations
        if isinstance(o.params, MisuseSuspensionParams)
    ]
    return max(periods, default=DEFAULT_SUSPENSION_DAYS)


def _check_actions(
    packs: Sequence[Pack],
    category: ResolvedCategory,
    actions: Sequence[ActionKind],
    case: Case,
    *,
    until: datetime | None,
    moment: datetime,
) -> tuple[tuple[ActionKind, ...], datetime | None]:
    kinds = tuple(dict.fromkeys(ActionKind(a) for a in actions))
    if ActionKind.RESTORE in kinds:
        raise InvalidDecision("restore comes only from reversing a decision on appeal")
    pack = _pack(packs, category.pack_id)
    if pack is not None:
        allowed = {a.id for a in pack.actions}
        refused = [str(k) for k in kinds if k not in allowed]
        if refused:
            raise InvalidDecision(f"{pack.id} names no action {', '.join(refused)}")
    if any(k in CONTENT_ACTIONS for k in kinds) and not (case.content_id or case.url):
        raise InvalidDecision("content actions need a case about content (a content id or URL)")
    if any(k in ACCOUNT_ACTIONS for k in kinds) and not case.subject:
        raise InvalidDecision("account actions need a case whose subject is known")
    if ActionKind.SUSPEND_UPDATES in kinds:
        if until is None or until <= moment or until - moment > MAX_SUSPENSION:
            raise InvalidDecision("suspend_updates needs suspend_until: a time within ten years")
        return kinds, until
    return kinds, None


def _facts(text: str, what: str = "facts") -> str:
    text = text.strip()
    if not text or len(text) > MAX_FACTS:
        raise InvalidDecision(f"{what} are 1 to {MAX_FACTS} characters")
    if has_forbidden_characters(text, prose=True, allow="\n\t"):
        raise InvalidDecision(f"{what} may not contain control characters")
    return text


def _source(case: Case) -> str:
    if case.notices:
        return "notice"
    return "screening" if case.automated_detection else "own"


def _statement(
    session: Session,
    packs: Sequence[Pack],
    case: Case,
    decision: Decision,
    *,
    category: ResolvedCategory,
    reversal: str | None = None,
) -> Statement:
    facts = StatementFacts(
        decision_id=decision.puid,
        decided_at=decision.decided_at,
        language=case.language,
        pack=_pack(packs, category.pack_id),
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
    statement = Statement(
        decision_id=decision.id,
        service_id=case.service_id,
        subject=case.subject,
        language=case.language,
        text=render(facts),
        created_at=decision.decided_at,
    )
    session.add(statement)
    return statement


def _record(
    session: Session,
    packs: Sequence[Pack],
    case: Case,
    category: ResolvedCategory,
    kinds: tuple[ActionKind, ...],
    *,
    facts: str,
    until: datetime | None,
    automated_detection: bool,
    automated_decision: AutomatedDecision,
    decided_by: uuid.UUID | None,
    moment: datetime,
    appeal_of: Decision | None = None,
) -> Outcome:
    """Store a decision with its actions and statement, and log it."""
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
        actions=[str(k) for k in kinds],
        suspend_until=until,
        facts=facts,
        automated_detection=automated_detection,
        automated_decision=automated_decision,
        decided_by=decided_by,
        decided_at=moment,
        content_date=case.opened_at,
        appeal_of=appeal_of.id if appeal_of is not None else None,
        time_to_action_ms=max(0, int((moment - case.opened_at).total_seconds() * 1000)),
    )
    decision.log_index = records.append(
        session,
        EventType.CASES_DECISION_MADE,
        service_id=case.service_id,
        data={
            "decision_id": str(decision_id),
            "case_id": str(case.id),
            "category": f"{category.pack_id}:{category.category}",
            "actions": [str(k) for k in kinds],
            "automated_decision": str(automated_decision),
            "automated_detection": automated_detection,
            "by": str(decided_by) if decided_by else None,
            "appeal_of": str(appeal_of.id) if appeal_of is not None else None,
            "subject_digest": subject_digest(case.subject),
        },
        now=moment,
    ).index
    session.add(decision)
    session.flush()
    actions = tuple(
        _action(session, case, decision, kind=kind, until=until, moment=moment) for kind in kinds
    )
    statements: tuple[Statement, ...] = ()
    if kinds:
        reversal = (
            appeal_of.puid if appeal_of is not None and kinds == (ActionKind.RESTORE,) else None
        )
        statements = (
            _statement(session, packs, case, decision, category=category, reversal=reversal),
        )
    session.flush()
    return Outcome(decision, actions, statements)


def _action(
    session: Session,
    case: Case,
    decision: Decision,
    *,
    kind: ActionKind,
    until: datetime | None,
    moment: datetime,
) -> Action:
    account = kind in ACCOUNT_ACTIONS
    action = Action(
        id=uuid.uuid4(),
        decision_id=decision.id,
        service_id=case.service_id,
        kind=str(kind),
        content_id=None if account else (case.content_id or case.url),
        subject=case.subject,
        until=until if kind is ActionKind.SUSPEND_UPDATES else None,
        status=ActionStatus.PENDING,
        attempts=0,
        next_attempt_at=moment,
        created_at=moment,
    )
    action.log_index = records.append(
        session,
        EventType.CASES_ACTION_ISSUED,
        service_id=case.service_id,
        data={"action_id": str(action.id), "decision_id": str(decision.id), "kind": str(kind)},
        now=moment,
    ).index
    session.add(action)
    return action


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


def _strike(
    session: Session,
    packs: Sequence[Pack],
    case: Case,
    outcome: Outcome,
    *,
    category: ResolvedCategory,
    policy: StrikePolicy,
    moment: datetime,
) -> Outcome:
    """A strike for a restriction, and the warning or suspension it may bring."""
    if case.subject is None or not outcome.decision.actions:
        return outcome
    session.add(
        Strike(
            service_id=case.service_id,
            subject=case.subject,
            decision_id=outcome.decision.id,
            expires_at=moment + timedelta(days=policy.expiry_days),
            created_at=moment,
        )
    )
    session.flush()
    active = _active_strikes(session, case.service_id, case.subject, moment)
    follow_up: tuple[Outcome, ...] = ()
    if active == policy.warn_at:
        warning = _warning(session, packs, case, outcome.decision, active=active, policy=policy)
        follow_up = (Outcome(outcome.decision, (), (warning,)),)
    elif active >= policy.suspend_at and ActionKind.SUSPEND_UPDATES not in outcome.decision.actions:
        until = moment + timedelta(days=suspension_days(packs))
        facts = (
            f"{active} restrictions of this account within {policy.expiry_days} days, after a "
            f"warning at {policy.warn_at}; posting is suspended until {until:%Y-%m-%d}."
        )
        suspension = _record(
            session,
            packs,
            case,
            category,
            (ActionKind.SUSPEND_UPDATES,),
            facts=facts,
            until=until,
            automated_detection=False,
            automated_decision=AutomatedDecision.FULLY,
            decided_by=None,
            moment=moment,
        )
        follow_up = (suspension,)
    return Outcome(outcome.decision, outcome.actions, outcome.statements, active, follow_up)


def _warning(
    session: Session,
    packs: Sequence[Pack],
    case: Case,
    decision: Decision,
    *,
    active: int,
    policy: StrikePolicy,
) -> Statement:
    text = render_warning(
        case.language,
        active=active,
        decision_id=decision.puid,
        suspend_at=policy.suspend_at,
        days=suspension_days(packs),
    )
    records.append(
        session,
        EventType.CASES_SUBJECT_WARNED,
        service_id=case.service_id,
        data={"decision_id": str(decision.id), "subject_digest": subject_digest(case.subject)},
        now=decision.decided_at,
    )
    statement = Statement(
        decision_id=decision.id,
        service_id=case.service_id,
        subject=case.subject,
        language=case.language,
        text=text,
        created_at=decision.decided_at,
    )
    session.add(statement)
    return statement


def decide(
    session: Session,
    packs: Sequence[Pack],
    case_id: uuid.UUID,
    moderator: UserCaller,
    decision: DecisionIn,
    *,
    policy: StrikePolicy | None = None,
    now: datetime | None = None,
) -> Outcome:
    """A moderator's decision on a case they have claimed."""
    moderator.require(Permission.CASES_CASE_DECIDE)
    moment = now or utcnow()
    facts = _facts(decision.facts)
    category = resolve_category(packs, decision.category)
    with transaction(session):
        case = get_case(session, case_id, lock=True)
        if case.status is not CaseStatus.OPEN:
            raise CaseClosed(f"case {case_id} is {case.status}; appeals go through /appeals")
        require_claim(case, moderator.user_id, moment)
        kinds, until = _check_actions(
            packs, category, decision.actions, case, until=decision.suspend_until, moment=moment
        )
        detected = (
            case.automated_detection
            if decision.automated_detection is None
            else decision.automated_detection
        )
        return _conclude(
            session,
            packs,
            case,
            category,
            kinds,
            facts=facts,
            until=until,
            automated_detection=detected,
            automated_decision=AutomatedDecision.NOT_AUTOMATED,
            decided_by=moderator.user_id,
            policy=policy,
            moment=moment,
        )


def decide_automatically(
    session: Session,
    packs: Sequence[Pack],
    case: Case,
    category: ResolvedCategory,
    facts: str,
    *,
    policy: StrikePolicy | None = None,
    moment: datetime,
) -> Outcome:
    """A block rule's decision: fully automated, content stopped at once (art. 7)."""
    kinds: tuple[ActionKind, ...] = (ActionKind.STOP_DISSEMINATION,) if case.content_id else ()
    return _conclude(
        session,
        packs,
        case,
        category,
        kinds,
        facts=facts[:MAX_FACTS],
        until=None,
        automated_detection=True,
        automated_decision=AutomatedDecision.FULLY,
        decided_by=None,
        policy=policy,
        moment=moment,
    )


def _conclude(
    session: Session,
    packs: Sequence[Pack],
    case: Case,
    category: ResolvedCategory,
    kinds: tuple[ActionKind, ...],
    *,
    facts: str,
    until: datetime | None,
    automated_detection: bool,
    automated_decision: AutomatedDecision,
    decided_by: uuid.UUID | None,
    policy: StrikePolicy | None,
    moment: datetime,
) -> Outcome:
    """Record a first decision on a case, strike the subject, and close the case."""
    outcome = _record(
        session,
        packs,
        case,
        category,
        kinds,
        facts=facts,
        until=until,
        automated_detection=automated_detection,
        automated_decision=automated_decision,
        decided_by=decided_by,
        moment=moment,
    )
    outcome = _strike(
        session,
        packs,
        case,
        outcome,
        category=category,
        policy=policy or StrikePolicy(),
        moment=moment,
    )
    case.status, case.updated_at = CaseStatus.DECIDED, moment
    case.claimed_by = case.claim_expires_at = None
    session.flush()
    return outcome


def get_decision(session: Session, decision_id: uuid.UUID, *, lock: bool = False) -> Decision:
    query = select(Decision).where(Decision.id == decision_id)
    if lock:
        query = query.with_for_update()
    found = session.scalar(query.execution_options(populate_existing=True))
    if found is None:
        raise DecisionNotFound(f"no decision {decision_id}")
    return found


def file_appeal(
    session: Session,
    packs: Sequence[Pack],
    decision_id: uuid.UUID,
    *,
    by: str,
    reason: str,
    service_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Appeal:
    """An appeal by the affected ``subject`` or by the ``notifier`` (against not acting)."""
    moment = now or utcnow()
    reason = _facts(reason, "an appeal's reasons")
    with transaction(session):
        decision = get_decision(session, decision_id, lock=True)
        if service_id is not None and decision.service_id != service_id:
            raise DecisionNotFound(f"no decision {decision_id}")
        if decision.reversed_by is not None or decision.appeal_of is not None:
            raise AppealNotAllowed("this decision was itself an appeal outcome or was reversed")
        if moment > decision.decided_at + timedelta(days=appeal_days(packs)):
            raise AppealNotAllowed(
                f"the appeal window closed {appeal_days(packs)} days after the decision"
            )
        if by == "subject" and not decision.actions:
            raise AppealNotAllowed("nothing was restricted; only the notifier may appeal")
        if by == "notifier" and decision.actions:
            raise AppealNotAllowed("the notifier may appeal only a decision not to act")
        pending = session.scalar(
            select(Appeal.id).where(
                Appeal.decision_id == decision_id, Appeal.status == AppealStatus.PENDING
            )
        )
        if pending is not None:
            raise AppealNotAllowed("an appeal against this decision is already pending")
        case = get_case(session, decision.case_id, lock=True)
        appeal = Appeal(
            id=uuid.uuid4(),
            decision_id=decision_id,
            service_id=decision.service_id,
            by=by,
            reason=reason,
            filed_at=moment,
            status=AppealStatus.PENDING,
        )
        appeal.log_index = records.append(
            session,
            EventType.CASES_APPEAL_FILED,
            service_id=decision.service_id,
            data={"appeal_id": str(appeal.id), "decision_id": str(decision_id), "by": by},
            now=moment,
        ).index
        session.add(appeal)
        case.status, case.updated_at = CaseStatus.APPEALED, moment
        case.claimed_by = case.claim_expires_at = None
        session.flush()
        return appeal


def decide_appeal(
    session: Session,
    packs: Sequence[Pack],
    appeal_id: uuid.UUID,
    senior: UserCaller,
    *,
    reverse: bool,
    facts: str,
    actions: Sequence[ActionKind] = (),
    suspend_until: datetime | None = None,
    now: datetime | None = None,
) -> tuple[Appeal, Outcome | None]:
    """Uphold or reverse; a reversal restores (or, on a notifier's appeal, acts)."""
    senior.require(Permission.CASES_APPEAL_DECIDE)
    moment = now or utcnow()
    facts = _facts(facts)
    with transaction(session):
        appeal = session.get(Appeal, appeal_id, with_for_update=True, populate_existing=True)
        if appeal is None:
            raise AppealNotFound(f"no appeal {appeal_id}")
        if appeal.status is not AppealStatus.PENDING:
            raise AppealNotAllowed(f"appeal {appeal_id} is {appeal.status}")
        original = get_decision(session, appeal.decision_id, lock=True)
        if original.decided_by == senior.user_id:
            raise SameReviewer("the moderator who decided may not decide the appeal")
        case = get_case(session, original.case_id, lock=True)
        category = resolve_category(packs, f"{original.pack_id}:{original.category}")
        outcome: Outcome | None = None
        if reverse:
            if original.actions:
                kinds: tuple[ActionKind, ...] = (ActionKind.RESTORE,)
                until = None
            else:
                kinds, until = _check_actions(
                    packs, category, actions, case, until=suspend_until, moment=moment
                )
                if not kinds:
                    raise InvalidDecision("reversing a decision not to act names the actions")
            outcome = _record(
                session,
                packs,
                case,
                category,
                kinds,
                facts=facts,
                until=until,
                automated_detection=original.automated_detection,
                automated_decision=AutomatedDecision.NOT_AUTOMATED,
                decided_by=senior.user_id,
                moment=moment,
                appeal_of=original,
            )
            original.reversed_by = outcome.decision.id
            for strike in session.scalars(select(Strike).where(Strike.decision_id == original.id)):
                strike.withdrawn_at = moment
        appeal.status = AppealStatus.REVERSED if reverse else AppealStatus.UPHELD
        appeal.decided_by, appeal.decided_at = senior.user_id, moment
        appeal.outcome = outcome.decision.id if outcome is not None else None
        records.append(
            session,
            EventType.CASES_APPEAL_DECIDED,
            service_id=appeal.service_id,
            data={
                "appeal_id": str(appeal.id),
                "outcome": str(appeal.status),
                "by": str(senior.user_id),
                "decision_id": str(outcome.decision.id) if outcome else None,
            },
            now=moment,
        )
        case.status, case.updated_at = CaseStatus.DECIDED, moment
        session.flush()
        return appeal, outcome


def notices_of(session: Session, case_id: uuid.UUID) -> list[Notice]:
    with transaction(session):
        return list(session.scalars(select(Notice).where(Notice.case_id == case_id)))


def appeals(
    session: Session,
    *,
    status: AppealStatus | None = AppealStatus.PENDING,
    case_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[Appeal]:
    """Appeals, oldest first (pending ones by default); optionally only those of one case."""
    query = select(Appeal).order_by(Appeal.filed_at).limit(limit)
    if status is not None:
        query = query.where(Appeal.status == status)
    if case_id is not None:
        query = query.join(Decision, Decision.id == Appeal.decision_id).where(
            Decision.case_id == case_id
        )
    with transaction(session):
        return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class ReviewerPace:
    """How many decisions (appeals' included) one reviewer made lately: what the desk shows
    them so that nobody reviews harmful content for hours without a break."""

    last_hour: int
    today: int  # since midnight UTC


def reviewer_pace(
    session: Session, user_id: uuid.UUID, *, now: datetime | None = None
) -> ReviewerPace:
    moment = now or utcnow()
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    hour_ago = moment - timedelta(hours=1)
    query = select(
        func.count().filter(Decision.decided_at >= hour_ago),
        func.count().filter(Decision.decided_at >= midnight),
    ).where(
        Decision.decided_by == user_id,
        Decision.decided_at >= min(midnight, hour_ago),
        Decision.decided_at <= moment,
    )
    with transaction(session):
        last_hour, today = session.execute(query).one()
    return ReviewerPace(last_hour=int(last_hour), today=int(today))


def statements_for(session: Session, service_id: uuid.UUID, subject: str) -> list[Statement]:
    """The statements of reasons (and warnings) sent to ``subject``, newest first."""
    with transaction(session):
        return list(
            session.scalars(
                select(Statement)
                .where(Statement.service_id == service_id, Statement.subject == subject)
                .order_by(Statement.created_at.desc())
                .limit(200)
            )
        )


def appeal_service(session: Session, appeal_id: uuid.UUID) -> uuid.UUID:
    """The service an appeal belongs to; :class:`AppealNotFound` if there is no such appeal."""
    with transaction(session):
        found = session.scalar(select(Appeal.service_id).where(Appeal.id == appeal_id))
    if found is None:
        raise AppealNotFound(f"no appeal {appeal_id}")
    return found
