"""Cases: gathering notices and screening verdicts per target, the review queue, claims.

A target is one content item (by the service's content id), a URL, or an account; every
notice and every held or blocked verdict about the same target of a service joins the one
case about it that is still undecided. The queue orders open cases by priority (trusted
flagger first, then the severity of the category, from the pack) and age; a moderator
claims a case exclusively for a while before deciding it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from trustdesk.cases.journal import Batch
from trustdesk.cases.models import Case, CaseItem, CaseStatus, Decision, Strike
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound
from trustdesk.policy.schema import Category, Pack
from trustdesk.policy.vocabulary import Severity
from trustdesk.records import leaf
from trustdesk.records.events import EventType
from trustdesk.screening.service import StoredItem, stored_items

TRUSTED_BONUS = 100
SEVERITY_STEP = 10  # the queue's priority per rank of severity (low 10 ... critical 40)
LANGUAGES = ("zh", "en")
TERMS_PACK = "tos"  # the operator's own terms: categories ``tos.<label>``, in no pack
TERMS_PREFIX = "tos."
MAX_CATEGORY = 128  # the longest category a case, notice or decision stores
Q = TypeVar("Q", bound="Select[*tuple[Any, ...]]")


class CaseNotFound(NotFound):
    code = "case_not_found"


class CaseClosed(Conflict):
    code = "case_closed"


class UnknownCategory(InvalidInput):
    code = "unknown_category"


@dataclass(frozen=True, slots=True)
class ResolvedCategory:
    """A category named by a notice, a rule or a moderator, found in the service's packs."""

    pack_id: str  # "tos" for the operator's own terms
    category: str
    article: str
    basis: str  # law or terms
    severity: Severity
    label_en: str
    label_zh: str

    @property
    def key(self) -> str:
        return category_key(self.pack_id, self.category)


def category_key(pack_id: str, category: str) -> str:
    """The one spelling of a category in cases, notices, the queue and the log, which
    :func:`resolve_category` takes: ``pack:category``, or the operator's ``tos.<label>``."""
    return category if pack_id == TERMS_PACK else f"{pack_id}:{category}"


def resolve_category(packs: Sequence[Pack], name: str) -> ResolvedCategory:
    """``name`` (``category``, ``pack:category`` or ``tos.<label>``) among ``packs``."""
    name = name.strip()
    if name.startswith(f"{TERMS_PACK}:{TERMS_PREFIX}"):  # how cases spelled it before
        name = name.removeprefix(f"{TERMS_PACK}:")
    if (
        name.startswith(TERMS_PREFIX)
        and len(name) > len(TERMS_PREFIX)
        and len(name) <= MAX_CATEGORY
    ):
        label = name.removeprefix(TERMS_PREFIX)
        return ResolvedCategory(
            TERMS_PACK, name, "terms of service", "terms", Severity.LOW, label, label
        )
    pack_id, _, category_id = name.rpartition(":")
    for pack in packs:
        if pack_id and pack.id != pack_id:
            continue
        found: Category | None = pack.category(category_id)
        if found is not None:
            return ResolvedCategory(
                pack.id,
                found.id,
                found.article,
                str(pack.basis),
                found.severity,
                found.label.en,
                found.label.zh,
            )
    known = sorted({f"{p.id}:{c.id}" for p in packs for c in p.categories})
    shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    msg = f"{name[:80]!r} is not a category of this service's packs ({shown})"
    raise UnknownCategory(msg)


def target_name(content_id: str | None, url: str | None, subject: str | None) -> str:
    """What a case is about, as one string: its content id, else its URL, else its account."""
    if content_id:
        return f"content\x00{content_id}"
    if url:
        return f"url\x00{url}"
    if subject:
        return f"account\x00{subject}"
    raise InvalidInput("name the content id, the URL or the account concerned")


def target_key(content_id: str | None, url: str | None, subject: str | None) -> str:
    """The digest that finds the open case about a target (a column, never logged: the log
    carries the keyed digest of :func:`target_name`)."""
    name = target_name(content_id, url, subject)
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def priority_of(category: ResolvedCategory, *, trusted: bool) -> int:
    return SEVERITY_STEP * category.severity.rank + (TRUSTED_BONUS if trusted else 0)


@dataclass(frozen=True, slots=True)
class Opening:
    """What joins or opens a case."""

    service_id: uuid.UUID
    content_id: str | None
    url: str | None
    subject: str | None
    category: ResolvedCategory
    trusted: bool
    automated: bool
    language: str | None
    at: datetime


def open_or_join(session: Session, opening: Opening, batch: Batch | None = None) -> Case:
    """The undecided case about the opening's target, made if there is none; re-prioritised.
    In a ``batch`` (:mod:`trustdesk.cases.journal`): found there, logged and flushed with it."""
    alone = batch is None
    batch = Batch(session, opening.at) if batch is None else batch
    key = target_key(opening.content_id, opening.url, opening.subject)
    case = batch.open_case((opening.service_id, key))
    priority = priority_of(opening.category, trusted=opening.trusted)
    if case is None:
        case = Case(
            id=uuid.uuid4(),
            service_id=opening.service_id,
            target=key,
            content_id=opening.content_id,
            url=opening.url,
            subject=opening.subject,
            language=opening.language if opening.language in LANGUAGES else "en",
            status=CaseStatus.OPEN,
            category=opening.category.key,
            priority=priority,
            trusted=opening.trusted,
            automated_detection=opening.automated,
            opened_at=opening.at,
            updated_at=opening.at,
        )
        target = leaf.keyed(target_name(opening.content_id, opening.url, opening.subject))
        data = {
            "case_id": str(case.id),
            "target_digest": target,
            "category": opening.category.key,
            "trusted": opening.trusted,
            "automated": opening.automated,
        }
        batch.journal.add(EventType.CASES_CASE_OPENED, opening.service_id, data, opening.at, case)
        (session.add if alone else batch.add)(case)
        batch.opened(case)
    else:
        if priority > case.priority:
            case.priority, case.category = priority, opening.category.key
        case.trusted = case.trusted or opening.trusted
        case.subject = case.subject or opening.subject
        case.updated_at = opening.at
        if opening.language in LANGUAGES:
            case.language = opening.language
    if alone:
        batch.journal.close(session)
        session.flush()
    return case


def attach_item(
    session: Session, case: Case, item_id: uuid.UUID, at: datetime, batch: Batch | None = None
) -> None:
    row = CaseItem(case_id=case.id, item_id=item_id, created_at=at)
    if batch is not None:
        batch.add(row)  # written at the batch's end
        return
    session.add(row)
    session.flush()


@dataclass(frozen=True, slots=True)
class QueueEntry:
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


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which open cases a queue shows: ``category`` is "pack:category" exactly, or a pack
    id for every category of that pack; ``trusted`` True/False keeps only cases notified
    by a trusted flagger / by anyone else; ``opened_before`` keeps cases at least that old."""

    service_id: uuid.UUID | None = None
    category: str | None = None
    trusted: bool | None = None
    opened_before: datetime | None = None
    include_claimed: bool = True

    def apply(self, query: Q, moment: datetime) -> Q:
        query = query.where(Case.status.in_([CaseStatus.OPEN, CaseStatus.APPEALED]))
        if self.service_id is not None:
            query = query.where(Case.service_id == self.service_id)
        if self.category:
            query = query.where(_in_category(self.category))
        if self.trusted is not None:
            query = query.where(Case.trusted.is_(self.trusted))
        if self.opened_before is not None:
            query = query.where(Case.opened_at <= self.opened_before)
        if not self.include_claimed:
            query = query.where(_unclaimed(moment))
        return query


def _in_category(name: str) -> ColumnElement[bool]:
    """One category by its key, or every category of a pack (``tos``: the operator's)."""
    if ":" in name or name.startswith(TERMS_PREFIX):
        return Case.category == name
    prefix = TERMS_PREFIX if name == TERMS_PACK else f"{name}:"
    return Case.category.startswith(prefix, autoescape=True)


def _unclaimed(moment: datetime) -> ColumnElement[bool]:
    return or_(Case.claim_expires_at.is_(None), Case.claim_expires_at < moment)


def queue(
    session: Session,
    where: QueueFilter | None = None,
    *,
    limit: int = 50,
    now: datetime | None = None,
) -> list[QueueEntry]:
    """The open cases ``where`` selects (all of them by default), most urgent first:
    priority, then oldest."""
    moment = now or utcnow()
    chosen = where or QueueFilter()
    query = chosen.apply(select(Case), moment)
    query = query.order_by(Case.priority.desc(), Case.opened_at).limit(limit)
    entries = []
    with transaction(session):
        for c in session.scalars(query):
            held = c.claim_expires_at is not None and c.claim_expires_at > moment
            entries.append(
                QueueEntry(
                    c.id,
                    c.service_id,
                    c.category,
                    c.priority,
                    c.trusted,
                    c.opened_at,
                    len(c.notices),
                    len(c.items),
                    c.claimed_by if held else None,
                    c.claim_expires_at if held else None,
                )
            )
    return entries


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """How many open cases a filter finds: in all, unclaimed, from trusted flaggers, and per
    category (most first)."""

    total: int
    unclaimed: int
    trusted: int
    by_category: tuple[tuple[str, int], ...]


def queue_counts(
    session: Session, where: QueueFilter, *, now: datetime | None = None
) -> QueueCounts:
    """The counts of the whole queue ``where`` selects (not only the page shown)."""
    moment = now or utcnow()
    unclaimed = sql_case((_unclaimed(moment), 1), else_=0)
    trusted = sql_case((Case.trusted.is_(True), 1), else_=0)
    query = where.apply(
        select(Case.category, func.count(), func.sum(unclaimed), func.sum(trusted)), moment
    ).group_by(Case.category)
    with transaction(session):
        rows = [(c, int(n), int(u or 0), int(t or 0)) for c, n, u, t in session.execute(query)]
    rows.sort(key=lambda row: (-row[1], row[0]))
    return QueueCounts(
        total=sum(row[1] for row in rows),
        unclaimed=sum(row[2] for row in rows),
        trusted=sum(row[3] for row in rows),
        by_category=tuple((row[0], row[1]) for row in rows),
    )


def get_case(session: Session, case_id: uuid.UUID, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update()
    case = session.scalar(query.execution_options(populate_existing=True))
    if case is None:
        raise CaseNotFound(f"no case {case_id}")
    return case


@dataclass(frozen=True, slots=True)
class SubjectHistory:
    """What a moderator sees of a subject: by pseudonym, never by identity."""

    subject: str
    decisions: tuple[tuple[uuid.UUID, str, tuple[str, ...], datetime], ...]
    active_strikes: int


def history(
    session: Session, service_id: uuid.UUID, subject: str, *, now: datetime | None = None
) -> SubjectHistory:
    moment = now or utcnow()
    with transaction(session):
        decided = session.execute(
            select(Decision.id, Decision.category, Decision.actions, Decision.decided_at)
            .join(Case, Case.id == Decision.case_id)
            .where(Case.service_id == service_id, Case.subject == subject)
            .order_by(Decision.decided_at.desc())
            .limit(50)
        ).all()
        strikes = session.scalars(
            select(Strike.id).where(
                Strike.service_id == service_id,
                Strike.subject == subject,
                Strike.expires_at > moment,
                Strike.withdrawn_at.is_(None),
            )
        ).all()
    return SubjectHistory(
        subject,
        tuple((d_id, cat, tuple(acts), at) for d_id, cat, acts, at in decided),
        len(strikes),
    )


def subject_digest(subject: str | None) -> leaf.Keyed | None:
    """How log entries name a case's subject: by its keyed digest."""
    return leaf.keyed_or_none(subject)


@dataclass(frozen=True, slots=True)
class CaseDetail:
    """All a moderator sees of a case: content and findings, notices, the subject's past."""

    case: Case
    items: list[StoredItem]
    history: SubjectHistory | None


def case_detail(session: Session, case_id: uuid.UUID, *, now: datetime | None = None) -> CaseDetail:
    with transaction(session):
        case = get_case(session, case_id)
        items = stored_items(session, [i.item_id for i in case.items])
        past = history(session, case.service_id, case.subject, now=now) if case.subject else None
        return CaseDetail(case, items, past)
