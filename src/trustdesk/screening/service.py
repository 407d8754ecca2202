"""Use cases of screening: deploy and roll back rule sets, screen content, keep what is held,
and tell what the rules in shadow mode would have done had they been live.

Data minimisation: content that is allowed with no finding is counted, never stored.
Held, blocked and flagged content (and shadow hits) is stored with its findings for review,
and each such verdict is a record-log entry (ids, digests and rule ids only), appended by
its follow-up (:mod:`trustdesk.screening.outbox`).
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import InvalidInput, NotFound
from trustdesk.policy.schema import Pack
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.screening.engine import Finding, RuleCount, Screening, Verdict
from trustdesk.screening.finding_rows import counted, finding_of, finding_row, rule_count
from trustdesk.screening.models import (
    ContentFinding,
    ContentItem,
    RuleSetDeployment,
    RuleSetVersion,
    ScreeningCount,
    ScreeningFollowUp,
)
from trustdesk.screening.rules import Action, Mode
from trustdesk.screening.scope import require_service_categories
from trustdesk.screening.sources import RuleSetSource
from trustdesk.screening.tally import Tally, add_counts

MAX_TEXT = 1_000_000
MAX_ID = 200
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class RuleSetNotFound(NotFound):
    code = "ruleset_not_found"


class InvalidContent(InvalidInput):
    code = "invalid_content"


@dataclass(frozen=True, slots=True)
class DeploymentView:
    service_id: uuid.UUID
    version: str
    sequence: int
    deployed_at: datetime
    deployed_by: str
    rules: int
    terms: int
    patterns: int


@dataclass(frozen=True, slots=True)
class ContentIn:
    """One item the service asks about, as it will be screened and stored.

    Build it with :meth:`of`, which checks the sizes and replaces what no database can
    store (NUL, lone surrogates) by U+FFFD: one character for one, so offsets stay true.
    """

    content_id: str
    text: str
    subject: str | None = None
    kind: str = "text"
    hashes: Mapping[str, str] = field(default_factory=dict)  # by signal (kind image...)

    @classmethod
    def of(
        cls, content_id: str, text: str, subject: str | None = None, kind: str = "text"
    ) -> ContentIn:
        if not content_id or len(content_id) > MAX_ID:
            raise InvalidContent(f"a content id is 1 to {MAX_ID} characters")
        if subject is not None and not 0 < len(subject) <= MAX_ID:
            raise InvalidContent(f"a subject is 1 to {MAX_ID} characters")
        if len(text) > MAX_TEXT:
            raise InvalidContent(f"a text is at most {MAX_TEXT} characters")
        return cls(content_id, _UNSTORABLE.sub("\ufffd", text), subject, kind)


def deploy(
    session: Session,
    service_id: uuid.UUID,
    source: RuleSetSource,
    archive: bytes,
    *,
    packs: Sequence[Pack],
    by: str,
    now: datetime | None = None,
) -> DeploymentView:
    """Store the rule set (once per version) and make it the service's active one.

    ``packs`` are the service's: a rule whose category none of them defines is refused
    (:class:`~trustdesk.screening.scope.CategoryOutsideServicePacks`).
    """
    require_service_categories(source, packs)  # before anything is stored
    moment = now or utcnow()
    with transaction(session):
        if session.get(RuleSetVersion, source.version) is None:
            session.add(
                RuleSetVersion(
                    version=source.version,
                    created_at=moment,
                    archive=archive,
                    rules=len(source.rules),
                    terms=sum(len(rule.terms) for rule in source.rules),
                    patterns=sum(len(rule.patterns) for rule in source.rules),
                )
            )
            session.flush()
        return activate(session, service_id, source, packs=packs, by=by, now=moment)


def activate(
    session: Session,
    service_id: uuid.UUID,
    source: RuleSetSource,
    *,
    packs: Sequence[Pack],
    by: str,
    now: datetime | None = None,
) -> DeploymentView:
    """Make ``source``, a stored version, the service's active rule set: a deploy, or a
    rollback (:func:`trustdesk.screening.uploads.activate`). Its categories are checked
    against ``packs``, the service's as they are now, the same way each time."""
    require_service_categories(source, packs)
    version, moment = source.version, now or utcnow()
    with transaction(session):
        last = session.scalar(
            select(func.max(RuleSetDeployment.sequence)).where(
                RuleSetDeployment.service_id == service_id
            )
        )
        sequence = (last or 0) + 1
        session.add(
            RuleSetDeployment(
                service_id=service_id,
                version=version,
                deployed_at=moment,
                deployed_by=by[:200],
                sequence=sequence,
            )
        )
        session.flush()
        records.append(
            session,
            EventType.SCREENING_RULESET_DEPLOYED,
            service_id=service_id,
            data={"version": version, "sequence": sequence, "by_digest": leaf.keyed(by)},
        )
        return _deployments(session, service_id, limit=1)[0]


def _deployments(session: Session, service_id: uuid.UUID, limit: int) -> list[DeploymentView]:
    rows = session.execute(
        select(RuleSetDeployment, RuleSetVersion)
        .join(RuleSetVersion, RuleSetVersion.version == RuleSetDeployment.version)
        .where(RuleSetDeployment.service_id == service_id)
        .order_by(RuleSetDeployment.sequence.desc())
        .limit(limit)
    ).all()
    return [
        DeploymentView(
            d.service_id,
            d.version,
            d.sequence,
            d.deployed_at,
            d.deployed_by,
            v.rules,
            v.terms,
            v.patterns,
        )
        for d, v in rows
    ]


def deployments(session: Session, service_id: uuid.UUID, limit: int = 100) -> list[DeploymentView]:
    """The service's deployments, newest (the active one) first."""
    with read_transaction(session):
        return _deployments(session, service_id, limit)


def active_version(session: Session, service_id: uuid.UUID) -> str | None:
    with read_transaction(session):
        return session.scalar(
            select(RuleSetDeployment.version)
            .where(RuleSetDeployment.service_id == service_id)
            .order_by(RuleSetDeployment.sequence.desc())
            .limit(1)
        )


def archive_of(session: Session, version: str) -> bytes:
    with read_transaction(session):
        archive = session.scalar(
            select(RuleSetVersion.archive).where(RuleSetVersion.version == version)
        )
    if archive is None:
        raise RuleSetNotFound(f"no rule set {version}")
    return archive


def deployed_archive(session: Session, service_id: uuid.UUID, version: str) -> bytes:
    """The stored zip of ``version``, if this service ever deployed it (else not found)."""
    with read_transaction(session):
        archive = session.scalar(
            select(RuleSetVersion.archive)
            .join(RuleSetDeployment, RuleSetDeployment.version == RuleSetVersion.version)
            .where(RuleSetDeployment.service_id == service_id, RuleSetVersion.version == version)
            .limit(1)
        )
    if archive is None:
        raise RuleSetNotFound(f"this service never deployed rule set {version}")
    return archive


class PublishGate(Protocol):
    """Whether a subject of a service may publish at all (the identity slice answers)."""

    def __call__(self, session: Session, service_id: uuid.UUID, subject: str | None) -> bool: ...


@dataclass(frozen=True, slots=True)
class Screened:
    """A stored screening verdict, as handed to whoever reviews it (the cases slice)."""

    service_id: uuid.UUID
    item_id: uuid.UUID
    item: ContentIn
    screening: Screening
    context: Mapping[str, Any]


class ScreeningListener(Protocol):
    """Told of every stored verdict, inside the transaction that follows it up (and logs
    it): :func:`trustdesk.screening.outbox.drain`."""

    def __call__(self, session: Session, screened: Screened) -> None: ...


IDENTITY_REQUIRED = "identity_required"


def identity_required(item: ContentIn) -> Screening:
    """The verdict on content from a subject the publishing gate refuses (art. 4)."""
    rule = (IDENTITY_REQUIRED, IDENTITY_REQUIRED, Action.BLOCK, Mode.ENFORCE)
    finding = Finding(*rule, 0, len(item.text))
    counted = RuleCount(*rule, 1)
    return Screening(Verdict.BLOCK, (finding,), "", (counted,))


def count(
    session: Session,
    service_id: uuid.UUID,
    verdict: Verdict,
    *,
    tally: Tally | None = None,
    n: int = 1,
) -> None:
    """Count a verdict (``n`` times) without storing anything of the content: in ``tally``,
    which the server writes in aggregate (:mod:`trustdesk.screening.tally`), else at once."""
    if tally is not None:
        tally.add(service_id, str(verdict), n=n)
        return
    add_counts(session, Counter({(service_id, utcnow().date(), str(verdict)): n}))


def record(
    session: Session,
    service_id: uuid.UUID,
    item: ContentIn,
    screening: Screening,
    *,
    context: Mapping[str, Any] | None = None,
    tally: Tally | None = None,
) -> uuid.UUID | None:
    """Count a verdict that stores nothing (see :func:`count`); store an item that matched
    anything with :func:`store`. Returns the stored item's id."""
    if screening.verdict is Verdict.ALLOW and not screening.findings:
        count(session, service_id, screening.verdict, tally=tally)
        return None
    return store(session, [Screened(service_id, uuid.uuid4(), item, screening, context or {})])[0]


def store(session: Session, items: Sequence[Screened]) -> list[uuid.UUID]:
    """Store matched items with their findings and follow-ups in one short transaction (no
    lock of the log, no counter): one INSERT per table, the rows as they are (no unit of
    work). Returns their ids.

    The items are durable when this returns, so their verdicts may be answered (art. 7).
    Their follow-up (count, log entry, and the listener: case and decision) is done by
    :func:`trustdesk.screening.outbox.drain`, in batches; until then an item's ``log_index``
    is :data:`LOG_PENDING`.
    """
    moment = utcnow()
    rows: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    follow_ups: list[dict[str, Any]] = []
    for s in items:
        item, screening, item_id = s.item, s.screening, s.item_id
        rows.append(
            {
                "id": item_id,
                "service_id": s.service_id,
                "content_id": item.content_id,
                "subject": item.subject,
                "kind": item.kind,
                "text": item.text,
                "verdict": str(screening.verdict),
                "ruleset": screening.ruleset,
                "log_index": LOG_PENDING,
                "created_at": moment,
                "findings_truncated": screening.truncated,
                "rule_counts": [counted(c) for c in rule_counts_of(screening)],
            }
        )
        findings.extend(finding_row(item_id, f) for f in screening.findings)
        follow_up = {"item_id": item_id, "service_id": s.service_id, "created_at": moment}
        follow_ups.append(follow_up | {"context": dict(s.context), "attempts": 0})
    with transaction(session):
        connection = session.connection()
        connection.execute(insert(ContentItem), rows)
        if findings:
            connection.execute(insert(ContentFinding), findings)
        connection.execute(insert(ScreeningFollowUp), follow_ups)
    return [s.item_id for s in items]


LOG_PENDING = -1  # a stored item's log index until its follow-up appends its entry


def screening_of(row: ContentItem) -> Screening:
    """The screening a stored item was stored with (its findings are at most the cap)."""
    findings = tuple(finding_of(f) for f in row.findings)
    verdict = Verdict(row.verdict)
    counts = (
        tuple(rule_count(c) for c in row.rule_counts)
        if row.rule_counts is not None
        else rule_counts_of(Screening(verdict, findings, row.ruleset))
    )
    return Screening(verdict, findings, row.ruleset, counts, row.findings_truncated)


def rule_counts_of(screening: Screening) -> tuple[RuleCount, ...]:
    """Every rule that matched, with its matches (from the findings if the screening has no
    counts: one made by hand, or an item stored before counts were)."""
    if screening.rule_counts or not screening.findings:
        return screening.rule_counts
    counted: dict[tuple[str, str, Action, Mode], int] = {}
    for f in screening.findings:
        key = (f.rule, f.category, f.action, f.mode)
        counted[key] = counted.get(key, 0) + 1
    return tuple(RuleCount(*key, n) for key, n in counted.items())


def counts(
    session: Session,
    service_id: uuid.UUID | None,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
) -> dict[str, int]:
    """How many items were screened, by verdict: one service's (None: all), over all days
    or over ``first_day``..``last_day`` (inclusive; counts are kept per UTC day)."""
    query = select(ScreeningCount.verdict, func.sum(ScreeningCount.count))
    if service_id is not None:
        query = query.where(ScreeningCount.service_id == service_id)
    if first_day is not None:
        query = query.where(ScreeningCount.day >= first_day)
    if last_day is not None:
        query = query.where(ScreeningCount.day <= last_day)
    with read_transaction(session):
        rows = session.execute(query.group_by(ScreeningCount.verdict)).all()
    return {verdict: int(total) for verdict, total in rows}


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A stored content item with its findings, for review."""

    id: uuid.UUID
    content_id: str
    subject: str | None
    text: str
    verdict: Verdict
    ruleset: str
    created_at: datetime
    findings: tuple[Finding, ...]
    findings_truncated: bool = False  # more matches than findings kept (the cap)
    rule_counts: tuple[RuleCount, ...] = ()  # every rule that matched, with its matches


def stored_items(session: Session, item_ids: Sequence[uuid.UUID]) -> list[StoredItem]:
    """The stored items with these ids, oldest first."""
    if not item_ids:
        return []
    with read_transaction(session):
        rows = session.scalars(
            select(ContentItem).where(ContentItem.id.in_(item_ids)).order_by(ContentItem.created_at)
        ).all()
        found = [(row, screening_of(row)) for row in rows]
        return [
            StoredItem(
                row.id,
                row.content_id,
                row.subject,
                row.text,
                screened.verdict,
                row.ruleset,
                row.created_at,
                screened.findings,
                row.findings_truncated,
                screened.rule_counts,
            )
            for row, screened in found
        ]
