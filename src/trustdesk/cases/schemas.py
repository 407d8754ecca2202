"""Request and response bodies of the cases API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.cases.models import Action, Appeal, Case, Decision, Notice
from trustdesk.cases.outcomes import Outcome
from trustdesk.cases.service import QueueCounts, QueueEntry, SubjectHistory, category_key
from trustdesk.http.fields import DateTime, LineOrBlank, Prose, ProseOrBlank
from trustdesk.policy.vocabulary import ActionKind
from trustdesk.screening.engine import Verdict
from trustdesk.screening.schemas import FindingOut, RuleCountOut
from trustdesk.screening.service import StoredItem


class NotifierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ProseOrBlank | None = Field(default=None, max_length=200)
    email: ProseOrBlank | None = Field(default=None, max_length=254, description="An address.")


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    # Blank text counts as none given; the content is named by content_id, url or both.
    content_id: ProseOrBlank | None = Field(default=None, max_length=200)
    url: ProseOrBlank | None = Field(default=None, max_length=2000, description="http(s) only.")
    category: Prose = Field(max_length=200, description="A category of the service's packs.")
    explanation: Prose = Field(max_length=5000, description="Why the content is illegal.")
    notifier: NotifierIn | None = None
    good_faith: bool = Field(json_schema_extra={"const": True}, description="Accurate, complete.")
    language: str | None = Field(default=None, max_length=8)


class ReceiptOut(BaseModel):
    notice_id: uuid.UUID
    token: str = Field(description="Send as `X-Notice-Token` to read the outcome; shown once.")
    trusted: bool
    received_at: datetime


class NoticeOutcomeOut(BaseModel):
    notice_id: uuid.UUID
    received_at: datetime
    case_status: str
    decision_id: uuid.UUID | None
    decided_at: datetime | None
    actions: list[str]
    statement: str | None
    appeals: list[dict[str, str]]


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Prose = Field(max_length=5000)


class SubjectAppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision_id: uuid.UUID
    reason: Prose = Field(max_length=5000)


class FlaggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Prose = Field(max_length=200)


class FlaggerOut(BaseModel):
    id: uuid.UUID
    key: str = Field(description="The flagger's key (`tdf_...`); shown only this once.")


class QueueEntryOut(BaseModel):
    case_id: uuid.UUID
    service_id: uuid.UUID
    category: str
    priority: int
    trusted: bool
    opened_at: datetime
    notices: int
    items: int
    claimed_by: uuid.UUID | None
    claim_expires_at: datetime | None

    @classmethod
    def of(cls, entry: QueueEntry) -> QueueEntryOut:
        return cls.model_validate(entry, from_attributes=True)


class QueueCountsOut(BaseModel):
    total: int
    unclaimed: int
    trusted: int
    by_category: dict[str, int] = Field(description="Open cases per category, most first.")

    @classmethod
    def of(cls, counts: QueueCounts) -> QueueCountsOut:
        return cls(
            total=counts.total,
            unclaimed=counts.unclaimed,
            trusted=counts.trusted,
            by_category=dict(counts.by_category),
        )


class ItemOut(BaseModel):
    id: uuid.UUID
    content_id: str
    text: str
    verdict: Verdict
    ruleset: str
    created_at: datetime
    findings: list[FindingOut]
    findings_truncated: bool = Field(description="More matches than the findings kept.")
    rule_counts: list[RuleCountOut] = Field(description="Every rule that matched, and how often.")

    @classmethod
    def of(cls, item: StoredItem) -> ItemOut:
        out = cls.model_validate(item, from_attributes=True)
        return out.model_copy(update={"findings": [FindingOut.of(f) for f in item.findings]})


class CaseNoticeOut(BaseModel):
    id: uuid.UUID
    received_at: datetime
    category: str
    explanation: str
    url: str | None
    trusted: bool
    notifier_named: bool = Field(description="Whether the notifier gave a name (never shown).")

    @classmethod
    def of(cls, notice: Notice) -> CaseNoticeOut:
        return cls(
            id=notice.id,
            received_at=notice.received_at,
            category=notice.category,
            explanation=notice.explanation,
            url=notice.url,
            trusted=notice.trusted_flagger_id is not None,
            notifier_named=notice.notifier_name is not None,
        )


class DecisionOut(BaseModel):
    id: uuid.UUID
    puid: str
    case_id: uuid.UUID
    category: str
    citation: str
    basis: str
    actions: list[str]
    suspend_until: datetime | None
    facts: str
    automated_detection: bool
    automated_decision: str
    decided_by: uuid.UUID | None
    decided_at: datetime
    appeal_of: uuid.UUID | None
    reversed_by: uuid.UUID | None

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        return cls(
            id=decision.id,
            puid=decision.puid,
            case_id=decision.case_id,
            category=category_key(decision.pack_id, decision.category),
            citation=decision.citation,
            basis=decision.basis,
            actions=list(decision.actions),
            suspend_until=decision.suspend_until,
            facts=decision.facts,
            automated_detection=decision.automated_detection,
            automated_decision=str(decision.automated_decision),
            decided_by=decision.decided_by,
            decided_at=decision.decided_at,
            appeal_of=decision.appeal_of,
            reversed_by=decision.reversed_by,
        )


class HistoryOut(BaseModel):
    subject: str
    active_strikes: int
    decisions: list[dict[str, object]]

    @classmethod
    def of(cls, history: SubjectHistory) -> HistoryOut:
        return cls(
            subject=history.subject,
            active_strikes=history.active_strikes,
            decisions=[
                {"id": str(d), "category": c, "actions": list(a), "decided_at": at.isoformat()}
                for d, c, a, at in history.decisions
            ],
        )


class CaseOut(BaseModel):
    id: uuid.UUID
    service_id: uuid.UUID
    status: str
    category: str
    priority: int
    trusted: bool
    content_id: str | None
    url: str | None
    subject: str | None
    language: str
    opened_at: datetime
    claimed_by: uuid.UUID | None
    claim_expires_at: datetime | None
    items: list[ItemOut]
    notices: list[CaseNoticeOut]
    decisions: list[DecisionOut]
    history: HistoryOut | None

    @classmethod
    def of(cls, case: Case, items: list[StoredItem], history: SubjectHistory | None) -> CaseOut:
        return cls(
            id=case.id,
            service_id=case.service_id,
            status=str(case.status),
            category=case.category,
            priority=case.priority,
            trusted=case.trusted,
            content_id=case.content_id,
            url=case.url,
            subject=case.subject,
            language=case.language,
            opened_at=case.opened_at,
            claimed_by=case.claimed_by,
            claim_expires_at=case.claim_expires_at,
            items=[ItemOut.of(i) for i in items],
            notices=[CaseNoticeOut.of(n) for n in case.notices],
            decisions=[DecisionOut.of(d) for d in case.decisions],
            history=HistoryOut.of(history) if history is not None else None,
        )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=200, description="`category` or `pack:category`.")
    actions: list[ActionKind] = Field(max_length=5, description="[] decides not to act.")
    facts: Prose = Field(max_length=5000)
    suspend_until: DateTime | None = Field(None, description="Ends suspend_updates; <10 years.")
    automated_detection: bool | None = None


class ActionOut(BaseModel):
    id: uuid.UUID
    decision_id: uuid.UUID
    kind: str
    content_id: str | None
    subject: str | None
    until: datetime | None
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, action: Action) -> ActionOut:
        return cls.model_validate(action, from_attributes=True)


class StatementOut(BaseModel):
    subject: str | None
    language: str
    text: str


class OutcomeOut(BaseModel):
    decision: DecisionOut
    actions: list[ActionOut]
    statements: list[StatementOut]
    active_strikes: int
    follow_up: list[OutcomeOut]

    @classmethod
    def of(cls, outcome: Outcome) -> OutcomeOut:
        return cls(
            decision=DecisionOut.of(outcome.decision),
            actions=[ActionOut.of(a) for a in outcome.actions],
            statements=[
                StatementOut(subject=s.subject, language=s.language, text=s.text)
                for s in outcome.statements
            ],
            active_strikes=outcome.strikes,
            follow_up=[OutcomeOut.of(f) for f in outcome.follow_up],
        )


class AppealOut(BaseModel):
    id: uuid.UUID
    decision_id: uuid.UUID
    by: str
    reason: str
    filed_at: datetime
    status: str
    decided_at: datetime | None
    outcome: uuid.UUID | None

    @classmethod
    def of(cls, appeal: Appeal) -> AppealOut:
        return cls.model_validate(appeal, from_attributes=True)


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reverse: bool
    facts: Prose = Field(max_length=5000)
    actions: list[ActionKind] = Field(default_factory=list, max_length=5)
    suspend_until: DateTime | None = Field(None, description="Ends suspend_updates; <10 years.")


class AppealDecisionOut(BaseModel):
    appeal: AppealOut
    outcome: OutcomeOut | None


class AuthorityReportIn(BaseModel):
    """Who a report on a case goes to; both kept in the report, as digests in the log."""

    model_config = ConfigDict(extra="forbid")

    authority: LineOrBlank | None = Field(default=None, max_length=200)
    reference: LineOrBlank | None = Field(default=None, max_length=200)
