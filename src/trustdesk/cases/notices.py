"""Notices from anyone (art. 7 of the notice; DSA art. 16), and trusted flaggers (art. 22).

A notice names where (the service and a content id or URL), what (a category of the
service's packs), why (an explanation), optionally who (name and e-mail), and confirms good
faith. It joins or opens the case about its target. The notifier gets a receipt id and a
secret token (stored only as a digest) to read the outcome and, against a decision not to
act, to appeal. A notice sent with a trusted flagger's key is marked and put first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.cases.models import (
    Appeal,
    AppealStatus,
    Case,
    Decision,
    Notice,
    Statement,
    TrustedFlagger,
)
from trustdesk.cases.service import Opening, open_or_join, resolve_category
from trustdesk.crypto.tokens import new_token, token_digest
from trustdesk.db.base import utcnow
from trustdesk.db.engine import transaction
from trustdesk.errors import InvalidInput, NotFound, Unauthenticated
from trustdesk.policy.schema import Pack
from trustdesk.policy.service import ServicePacks
from trustdesk.policy.vocabulary import Language
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.text import has_forbidden_characters

FLAGGER_KEY_PREFIX = "tdf_"
NOTICE_TOKEN_PREFIX = "tdn_"  # noqa: S105  (a prefix, not a secret)
MAX_EXPLANATION = 5000
MAX_URL = 2000
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s.]{1,63}$")


class InvalidNotice(InvalidInput):
    code = "invalid_notice"


class NoticeNotFound(NotFound):
    code = "notice_not_found"


@dataclass(frozen=True, slots=True)
class NoticeIn:
    service_id: uuid.UUID
    category: str
    explanation: str
    good_faith: bool
    content_id: str | None = None
    url: str | None = None
    notifier_name: str | None = None
    notifier_email: str | None = None
    language: str | None = None

    def __repr__(self) -> str:  # the notifier's contact details stay out of tracebacks
        return f"NoticeIn(service_id={self.service_id}, category={self.category!r})"


@dataclass(frozen=True, slots=True)
class Receipt:
    notice_id: uuid.UUID
    case_id: uuid.UUID
    token: str
    trusted: bool
    received_at: datetime


def _text(
    value: str | None, what: str, limit: int, *, field: str, required: bool = False
) -> str | None:
    if value is None or not value.strip():
        if required:
            raise InvalidNotice(f"{what} is required", field=field)
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidNotice(f"{what} is at most {limit} characters", field=field)
    if has_forbidden_characters(value, prose=True, allow="\n\t"):
        raise InvalidNotice(f"{what} may not contain control characters", field=field)
    return value


def _url(value: str | None) -> str | None:
    url = _text(value, "url", MAX_URL, field="url")
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidNotice("url must be an http or https address", field="url")
    return url


def _checked(notice: NoticeIn) -> NoticeIn:
    if notice.good_faith is not True:
        msg = "confirm that the notice is accurate and complete, in good faith"
        raise InvalidNotice(msg, field="good_faith")
    email = _text(notice.notifier_email, "notifier e-mail", 254, field="notifier.email")
    if email is not None and not EMAIL.fullmatch(email):
        raise InvalidNotice("notifier e-mail is not an e-mail address", field="notifier.email")
    content_id = _text(notice.content_id, "content_id", 200, field="content_id")
    url = _url(notice.url)
    if content_id is None and url is None:
        raise InvalidNotice("name the content: its content_id or its url")  # one of two
    return NoticeIn(
        service_id=notice.service_id,
        category=_text(notice.category, "category", 200, field="category", required=True) or "",
        explanation=_text(
            notice.explanation,
            "explanation",
            MAX_EXPLANATION,
            field="explanation",
            required=True,
        )
        or "",
        good_faith=True,
        content_id=content_id,
        url=url,
        notifier_name=_text(notice.notifier_name, "notifier name", 200, field="notifier.name"),
        notifier_email=email,
        language=notice.language if notice.language in set(Language) else None,
    )


def register_flagger(session: Session, service_id: uuid.UUID, name: str) -> tuple[uuid.UUID, str]:
    """Register a trusted flagger of a service; returns its id and key (shown only once)."""
    clean = _text(name, "name", 200, field="name", required=True) or ""
    key = new_token(FLAGGER_KEY_PREFIX)
    with transaction(session):
        flagger = TrustedFlagger(
            id=uuid.uuid4(), service_id=service_id, name=clean, key_digest=token_digest(key)
        )
        session.add(flagger)
        records.append(
            session,
            EventType.CASES_FLAGGER_REGISTERED,
            service_id=service_id,
            data={"flagger_id": str(flagger.id), "name_digest": leaf.keyed(clean)},
        )
        session.flush()
        return flagger.id, key


def get_flagger(session: Session, flagger_id: uuid.UUID) -> TrustedFlagger:
    with transaction(session):
        flagger = session.get(TrustedFlagger, flagger_id)
    if flagger is None:
        raise NotFound(f"no trusted flagger {flagger_id}")
    return flagger


def has_notices(session: Session, service_id: uuid.UUID) -> bool:
    with transaction(session):
        found = session.scalar(select(Notice.id).where(Notice.service_id == service_id).limit(1))
    return found is not None


def flagger_by_credential(session: Session, authorization: str | None) -> TrustedFlagger | None:
    """The trusted flagger whose key an ``Authorization`` header carries (``Bearer tdf_...``),
    or None without one; :class:`Unauthenticated` for any other credential, or a key that is
    unknown or revoked: a notice takes no credential but a trusted flagger's key."""
    if authorization is None:
        return None
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.startswith(FLAGGER_KEY_PREFIX):
        raise Unauthenticated("notices take no credential but a trusted flagger's key")
    return flagger_for(session, key.strip())


def flagger_for(session: Session, key: str) -> TrustedFlagger:
    """The trusted flagger holding ``key``; :class:`Unauthenticated` if none (or revoked)."""
    with transaction(session):
        flagger = session.scalar(
            select(TrustedFlagger).where(TrustedFlagger.key_digest == token_digest(key))
        )
    if flagger is None or flagger.revoked_at is not None:
        raise Unauthenticated("unknown or revoked trusted-flagger key")
    return flagger


def submit_to_service(
    session: Session,
    packs_of: ServicePacks,
    notice: NoticeIn,
    *,
    flagger: TrustedFlagger | None = None,
) -> Receipt:
    """Take a notice under the packs of the service it names (see :func:`submit`)."""
    return submit(session, packs_of(session, notice.service_id), notice, flagger=flagger)


def submit(
    session: Session,
    packs: Sequence[Pack],
    notice: NoticeIn,
    *,
    flagger: TrustedFlagger | None = None,
    now: datetime | None = None,
) -> Receipt:
    """Take a notice: validate it, log it, and join it to the case about its target."""
    moment = now or utcnow()
    notice = _checked(notice)
    category = resolve_category(packs, notice.category)
    if flagger is not None and flagger.service_id != notice.service_id:
        raise Unauthenticated("this trusted-flagger key belongs to another service")
    token = new_token(NOTICE_TOKEN_PREFIX)
    with transaction(session):
        case: Case = open_or_join(
            session,
            Opening(
                service_id=notice.service_id,
                content_id=notice.content_id,
                url=None if notice.content_id else notice.url,
                subject=None,
                category=category,
                trusted=flagger is not None,
                automated=False,
                language=None,
                at=moment,
            ),
        )
        row = Notice(
            id=uuid.uuid4(),
            service_id=notice.service_id,
            case_id=case.id,
            received_at=moment,
            content_id=notice.content_id,
            url=notice.url,
            category=category.key,
            explanation=notice.explanation,
            notifier_name=notice.notifier_name,
            notifier_email=notice.notifier_email,
            good_faith=True,
            trusted_flagger_id=flagger.id if flagger else None,
            token_digest=token_digest(token),
        )
        row.log_index = records.append(
            session,
            EventType.CASES_NOTICE_RECEIVED,
            service_id=notice.service_id,
            data={
                "notice_id": str(row.id),
                "case_id": str(case.id),
                "category": category.key,
                "trusted": flagger is not None,
                "explanation_digest": leaf.keyed(notice.explanation),
            },
            now=moment,
        ).index
        session.add(row)
        session.flush()
        return Receipt(row.id, case.id, token, flagger is not None, moment)


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    """What the notifier may read with their token."""

    notice_id: uuid.UUID
    service_id: uuid.UUID
    received_at: datetime
    case_status: str
    decision_id: uuid.UUID | None
    decided_at: datetime | None
    actions: tuple[str, ...]
    statement: str | None
    appeals: tuple[tuple[uuid.UUID, AppealStatus], ...]


def notice_by_token(session: Session, notice_id: uuid.UUID, token: str) -> Notice:
    row = session.get(Notice, notice_id)
    if row is None or not token or row.token_digest != token_digest(token):
        raise NoticeNotFound(f"no notice {notice_id} with this token")
    return row


def outcome(session: Session, notice_id: uuid.UUID, token: str) -> NoticeOutcome:
    """The state of a notice's case and the latest decision on it, for its notifier."""
    with transaction(session):
        row = notice_by_token(session, notice_id, token)
        case = session.get(Case, row.case_id)
        decision = session.scalar(
            select(Decision)
            .where(Decision.case_id == row.case_id)
            .order_by(Decision.decided_at.desc())
            .limit(1)
        )
        statement = (
            session.scalar(
                select(Statement.text).where(Statement.decision_id == decision.id).limit(1)
            )
            if decision is not None
            else None
        )
        appeals = (
            tuple(
                (a.id, a.status)
                for a in session.scalars(select(Appeal).where(Appeal.decision_id == decision.id))
            )
            if decision is not None
            else ()
        )
        return NoticeOutcome(
            row.id,
            row.service_id,
            row.received_at,
            str(case.status) if case else "unknown",
            decision.id if decision else None,
            decision.decided_at if decision else None,
            tuple(decision.actions) if decision else (),
            statement,
            appeals,
        )
