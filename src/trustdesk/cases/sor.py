"""DSA Transparency Database statements of reasons (Art. 17, 24(5)) built from decisions.

:class:`StatementOfReasons` is one statement as the database's store request validates it
(standards.md §1.3), with the documented rules the server leaves to us (end dates on or after
the application date, ``territorial_scope`` always sent) and one of our own: no personal
data. :func:`statement_for` turns a decision, its case (with its notices) and the ``eu-dsa``
pack into one, or into None when the decision restricts nothing: a statement is due only for
a restriction, so a decision not to act and the ``restore`` of a reversal get none (the
database has no value for lifting a restriction; the subject's own statement says it).
:func:`export` streams the due statements of a period, a batch of decisions at a time.

    InvalidInput
    └── StatementRejected   sor_rejected   a decision cannot become a valid statement
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from trustdesk.cases.models import AutomatedDecision, Case, Decision, TrustedFlagger
from trustdesk.db.engine import read_transaction
from trustdesk.errors import InvalidInput
from trustdesk.policy.schema import Pack
from trustdesk.policy.sor import (
    DecisionAccount,
    DecisionMonetary,
    DecisionProvision,
    DecisionVisibility,
)
from trustdesk.policy.vocabulary import ActionKind

PACK_ID = "eu-dsa"
TERMS_PACK_ID = "tos"  # decisions on the operator's own terms (``tos.<label>``)
MAX_FACTS = 5000
MAX_SHORT = 500
MAX_EXPLANATION = 2000
PUID = re.compile(r"^[a-zA-Z0-9-_]+$")
CONTENT_DATES = (date(2000, 1, 1), date(2038, 1, 1))
APPLICATION_DATES = (date(2020, 1, 1), date(2038, 1, 1))
LAST_END_DATE = date(2038, 1, 1)
EU_EEA = frozenset(  # EuropeanCountriesService: the EU and EEA, Greece as GR
    {
        *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
        *("IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE"),
        *("SI", "SK"),
    }
)


class StatementRejected(InvalidInput):
    code = "sor_rejected"


class DecisionGround(enum.StrEnum):
    ILLEGAL_CONTENT = "DECISION_GROUND_ILLEGAL_CONTENT"
    INCOMPATIBLE_CONTENT = "DECISION_GROUND_INCOMPATIBLE_CONTENT"


class ContentType(enum.StrEnum):
    APP = "CONTENT_TYPE_APP"
    AUDIO = "CONTENT_TYPE_AUDIO"
    IMAGE = "CONTENT_TYPE_IMAGE"
    PRODUCT = "CONTENT_TYPE_PRODUCT"
    SYNTHETIC_MEDIA = "CONTENT_TYPE_SYNTHETIC_MEDIA"
    TEXT = "CONTENT_TYPE_TEXT"
    VIDEO = "CONTENT_TYPE_VIDEO"
    OTHER = "CONTENT_TYPE_OTHER"


class StatementCategory(enum.StrEnum):
    ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE"
    CONSUMER_INFORMATION = "STATEMENT_CATEGORY_CONSUMER_INFORMATION"
    CYBER_VIOLENCE = "STATEMENT_CATEGORY_CYBER_VIOLENCE"
    CYBER_VIOLENCE_AGAINST_WOMEN = "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN"
    DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    )
    ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    INTELLECTUAL_PROPERTY_INFRINGEMENTS = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    )
    NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    OTHER_VIOLATION_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"
    PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM"
    UNSAFE_AND_PROHIBITED_PRODUCTS = "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS"
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"


TERMS_CATEGORY = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC"


class SourceType(enum.StrEnum):
    ARTICLE_16 = "SOURCE_ARTICLE_16"
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
    OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION"
    VOLUNTARY = "SOURCE_VOLUNTARY"


class AutomatedDecisionKey(enum.StrEnum):
    FULLY = "AUTOMATED_DECISION_FULLY"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED"


class AccountType(enum.StrEnum):
    BUSINESS = "ACCOUNT_TYPE_BUSINESS"
    PRIVATE = "ACCOUNT_TYPE_PRIVATE"


class YesNo(enum.StrEnum):
    YES = "Yes"
    NO = "No"


AUTOMATED = {
    AutomatedDecision.FULLY: AutomatedDecisionKey.FULLY,
    AutomatedDecision.PARTIALLY: AutomatedDecisionKey.PARTIALLY,
    AutomatedDecision.NOT_AUTOMATED: AutomatedDecisionKey.NOT_AUTOMATED,
}

Text = Annotated[str, StringConstraints(min_length=1)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SHORT)]
Explanation = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXPLANATION)]

# What personal data looks like in free text: e-mail addresses, links, long numbers (phone,
# identity document); ISO dates are kept.
# Parts are bounded (an address's local part by 64 characters, its domain by 255, a link's
# scheme by 32) so that a long run of letters is passed over in linear time, not rescanned
# from every position.
_EMAIL = r"[^\s@<>()\[\],;:\"']{1,64}@[^\s@<>()\[\],;:\"']{1,253}\.[^\s@<>()\[\],;:\"'.]{1,63}"
_LINK = r"(?:[a-z][a-z0-9+.-]{0,31}://|www\.)\S+"  # a scheme is short
_NUMBER = r"\+?\d(?:[\s\-.()]{0,2}\d){6,}[\dXx]?"
_DATE = r"\b\d{4}-\d{2}-\d{2}\b"
_PERSONAL = re.compile(
    f"(?P<date>{_DATE})|(?P<email>{_EMAIL})|(?P<link>{_LINK})|(?P<number>{_NUMBER})",
    re.IGNORECASE,
)
_MARK = {"email": "[e-mail removed]", "link": "[link removed]", "number": "[number removed]"}


def personal_data(text: str) -> str | None:
    """What in ``text`` looks like personal data (e-mail, link, long number), if anything."""
    for match in _PERSONAL.finditer(text):
        if match.lastgroup != "date":
            return str(match.lastgroup)
    return None


def redact(text: str, known: Iterable[str | None] = ()) -> str:
    """``text`` without ``known`` identifiers, e-mail addresses, links and long numbers."""
    for value in sorted({k.strip() for k in known if k and len(k.strip()) >= 3}, key=len)[::-1]:
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", "[identifier removed]", text)

    def mark(match: re.Match[str]) -> str:
        group = str(match.lastgroup)
        return match.group() if group == "date" else _MARK[group]

    return _PERSONAL.sub(mark, text)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StatementOfReasons(BaseModel):
    """One statement of reasons as ``POST /api/v1/statement`` takes it (enum keys as values)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    decision_visibility: list[DecisionVisibility] | None = None
    decision_visibility_other: Short | None = None
    decision_monetary: DecisionMonetary | None = None
    decision_monetary_other: Short | None = None
    decision_provision: DecisionProvision | None = None
    decision_account: DecisionAccount | None = None
    account_type: AccountType | None = None
    decision_ground: DecisionGround
    decision_ground_reference_url: Short | None = None
    illegal_content_legal_ground: Short | None = None
    illegal_content_explanation: Explanation | None = None
    incompatible_content_ground: Short | None = None
    incompatible_content_explanation: Explanation | None = None
    incompatible_content_illegal: YesNo | None = None
    content_type: Annotated[list[ContentType], Field(min_length=1)]
    content_type_other: Short | None = None
    category: StatementCategory
    territorial_scope: Annotated[list[str], Field(min_length=1)]
    content_date: date
    application_date: date
    end_date_account_restriction: date | None = None
    end_date_monetary_restriction: date | None = None
    end_date_service_restriction: date | None = None
    end_date_visibility_restriction: date | None = None
    decision_facts: Annotated[Text, StringConstraints(max_length=MAX_FACTS)]
    source_type: SourceType
    source_identity: Short | None = None
    automated_detection: YesNo
    automated_decision: AutomatedDecisionKey
    puid: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SHORT)]

    @model_validator(mode="after")
    def _rules(self) -> Self:
        for problem in _problems(self):
            raise ValueError(problem)
        return self

    def json_line(self) -> str:
        """The statement as one line of JSON (absent optional fields left out)."""
        body = self.model_dump(mode="json", exclude_none=True)
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


_END_DATES = {
    "end_date_account_restriction": "decision_account",
    "end_date_monetary_restriction": "decision_monetary",
    "end_date_service_restriction": "decision_provision",
    "end_date_visibility_restriction": "decision_visibility",
}
_FREE_TEXT = (
    "decision_visibility_other",
    "decision_monetary_other",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "content_type_other",
    "decision_facts",
    "source_identity",
)


def _iff(problems: list[str], present: bool, required: bool, field: str, when: str) -> None:
    if required and not present:
        problems.append(f"{field} is required when {when}")
    elif present and not required:
        problems.append(f"{field} must be left out unless {when}")


def _restriction_rules(s: StatementOfReasons, problems: list[str]) -> None:
    restrictions = (s.decision_monetary, s.decision_provision, s.decision_account)
    if s.decision_visibility == []:
        problems.append("decision_visibility, when sent, names at least one restriction")
    if not s.decision_visibility and all(r is None for r in restrictions):
        problems.append("one of decision_visibility, _monetary, _provision, _account is required")
    if s.decision_visibility and len(set(s.decision_visibility)) != len(s.decision_visibility):
        problems.append("decision_visibility names a value twice")
    _iff(
        problems,
        s.decision_visibility_other is not None,
        DecisionVisibility.OTHER in (s.decision_visibility or []),
        "decision_visibility_other",
        "decision_visibility has DECISION_VISIBILITY_OTHER",
    )
    _iff(
        problems,
        s.decision_monetary_other is not None,
        s.decision_monetary is DecisionMonetary.OTHER,
        "decision_monetary_other",
        "decision_monetary is DECISION_MONETARY_OTHER",
    )


def _ground_rules(s: StatementOfReasons, problems: list[str]) -> None:
    illegal = s.decision_ground is DecisionGround.ILLEGAL_CONTENT
    for field in ("illegal_content_legal_ground", "illegal_content_explanation"):
        _iff(problems, getattr(s, field) is not None, illegal, field, "the ground is illegal")
    for field in ("incompatible_content_ground", "incompatible_content_explanation"):
        _iff(problems, getattr(s, field) is not None, not illegal, field, "the ground is terms")
    if s.incompatible_content_illegal is not None and illegal:
        problems.append("incompatible_content_illegal goes only with the incompatible ground")
    url = s.decision_ground_reference_url
    if url is not None and not re.fullmatch(r"https?://\S+", url):
        problems.append("decision_ground_reference_url is an http(s) URL")


def _content_rules(s: StatementOfReasons, problems: list[str]) -> None:
    if len(set(s.content_type)) != len(s.content_type):
        problems.append("content_type names a value twice")
    _iff(
        problems,
        s.content_type_other is not None,
        ContentType.OTHER in s.content_type,
        "content_type_other",
        "content_type has CONTENT_TYPE_OTHER",
    )
    unknown = [c for c in s.territorial_scope if c not in EU_EEA]
    if unknown:
        problems.append(f"territorial_scope has {unknown[:3]}: not EU/EEA codes (Greece is GR)")
    if len(set(s.territorial_scope)) != len(s.territorial_scope):
        problems.append("territorial_scope names a country twice")


def _date_rules(s: StatementOfReasons, problems: list[str]) -> None:
    if not CONTENT_DATES[0] <= s.content_date <= CONTENT_DATES[1]:
        problems.append("content_date lies between 2000-01-01 and 2038-01-01")
    if not APPLICATION_DATES[0] <= s.application_date <= APPLICATION_DATES[1]:
        problems.append("application_date lies between 2020-01-01 and 2038-01-01")
    for field, restriction in _END_DATES.items():
        end: date | None = getattr(s, field)
        if end is None:
            continue
        if not s.application_date <= end <= LAST_END_DATE:
            problems.append(f"{field} lies between application_date and 2038-01-01")
        if not getattr(s, restriction):
            problems.append(f"{field} goes only with {restriction}")


def _source_rules(s: StatementOfReasons, problems: list[str]) -> None:
    if s.source_type is SourceType.VOLUNTARY and s.source_identity is not None:
        problems.append("source_identity must be left out for SOURCE_VOLUNTARY")
    if not PUID.fullmatch(s.puid):
        problems.append("puid has only letters, digits, '-' and '_'")
    for field in _FREE_TEXT:
        value = getattr(s, field)
        found = personal_data(value) if isinstance(value, str) else None
        if found is not None:
            problems.append(f"{field} holds what looks like personal data ({found})")


_RULES = (_restriction_rules, _ground_rules, _content_rules, _date_rules, _source_rules)


def _problems(s: StatementOfReasons) -> Iterator[str]:
    problems: list[str] = []
    for rule in _RULES:
        rule(s, problems)
    yield from problems


# Building statements from decisions.


_E = TypeVar("_E", DecisionMonetary, DecisionProvision, DecisionAccount)
_GRAVITY: dict[type[enum.Enum], tuple[str, ...]] = {
    DecisionMonetary: ("TERMINATION", "SUSPENSION", "OTHER"),
    DecisionProvision: (
        "TOTAL_TERMINATION",
        "PARTIAL_TERMINATION",
        "TOTAL_SUSPENSION",
        "PARTIAL_SUSPENSION",
    ),
    DecisionAccount: ("TERMINATED", "SUSPENDED"),
}


def _graver(current: _E | None, new: _E | None) -> _E | None:
    """Of two values of one restriction field, the graver (a termination over a suspension)."""
    if current is None or new is None:
        return current or new
    order = _GRAVITY[type(new)]
    return new if order.index(new.name) < order.index(current.name) else current


def _suspends(value: enum.Enum | None) -> bool:
    return value is not None and "SUSPEN" in value.name


@dataclass(frozen=True, slots=True)
class Restriction:
    """The restriction fields that a decision's actions fill, from the pack's ``sor:``."""

    visibility: tuple[DecisionVisibility, ...] = ()
    visibility_other: str | None = None
    monetary: DecisionMonetary | None = None
    monetary_other: str | None = None
    provision: DecisionProvision | None = None
    account: DecisionAccount | None = None

    @property
    def any(self) -> bool:
        return bool(self.visibility) or any((self.monetary, self.provision, self.account))


def restriction_of(pack: Pack, actions: Iterable[str]) -> Restriction:
    """Merge the ``sor:`` mappings of the pack's actions named by ``actions``."""
    visibility: list[DecisionVisibility] = []
    others: list[str] = []
    monetary_other: str | None = None
    monetary = provision = account = None
    by_kind = {str(a.id): a for a in pack.actions}
    for kind in actions:
        action = by_kind.get(kind)
        if action is None or action.sor is None:
            continue
        sor = action.sor
        visibility += [v for v in sor.decision_visibility if v not in visibility]
        if DecisionVisibility.OTHER in sor.decision_visibility:
            others.append(action.label.en)
        if sor.decision_monetary is DecisionMonetary.OTHER:
            monetary_other = action.label.en
        monetary = _graver(monetary, sor.decision_monetary)
        provision = _graver(provision, sor.decision_provision)
        account = _graver(account, sor.decision_account)
    return Restriction(
        tuple(visibility),
        _clip("; ".join(others), MAX_SHORT) if others else None,
        monetary,
        monetary_other if monetary is DecisionMonetary.OTHER else None,
        provision,
        account,
    )


def _day(moment: datetime) -> date:
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def territorial_scope(pack: Pack) -> list[str]:
    """The pack's countries as the database spells them (Greece is GR, never EL)."""
    codes = {"GR" if c == "EL" else c for c in pack.jurisdiction.countries}
    return sorted(codes & EU_EEA)


def _is_misuse_suspension(decision: Decision) -> bool:
    """The automatic suspension for repeated restrictions (art. 23): our own initiative."""
    return (
        decision.decided_by is None
        and decision.automated_decision is AutomatedDecision.FULLY
        and not decision.automated_detection
        and decision.actions == [str(ActionKind.SUSPEND_UPDATES)]
    )


def _source(
    decision: Decision, case: Case, flaggers: Mapping[uuid.UUID, str]
) -> tuple[SourceType, str | None]:
    if not case.notices or _is_misuse_suspension(decision):
        return SourceType.VOLUNTARY, None
    trusted = [n.trusted_flagger_id for n in case.notices if n.trusted_flagger_id is not None]
    if trusted:
        # A trusted flagger is an entity (art. 22(2)), named as the operator registered it;
        # a plain notifier is a person, so the statement never names one.
        name = flaggers.get(trusted[0])
        identity = _clip(redact(name), MAX_SHORT) if name and name.strip() else None
        return SourceType.TRUSTED_FLAGGER, identity
    return SourceType.ARTICLE_16, None


def _content_type(case: Case) -> tuple[list[ContentType], str | None]:
    if case.items:  # screened content: trustdesk screens text
        return [ContentType.TEXT], None
    if case.content_id or case.url:
        return [ContentType.OTHER], "content named in a notice; its type was not recorded"
    return [ContentType.OTHER], "account"


def known_identifiers(case: Case) -> list[str | None]:
    """Everything about a case that names a person or an item, to keep out of free text."""
    values: list[str | None] = [case.subject, case.content_id, case.url]
    for notice in case.notices:
        values += [notice.notifier_name, notice.notifier_email, notice.content_id, notice.url]
    return values


def _ground(decision: Decision, pack: Pack, label: str) -> dict[str, Any]:
    terms = decision.basis == "terms" or decision.category == TERMS_CATEGORY
    if terms:
        return {
            "decision_ground": DecisionGround.INCOMPATIBLE_CONTENT,
            "incompatible_content_ground": _clip(f"Provider's terms and conditions: {label}", 500),
            "incompatible_content_explanation": _clip(
                f"The content was found incompatible with the provider's terms and conditions "
                f"({label}).",
                MAX_EXPLANATION,
            ),
        }
    category = pack.category(decision.category)
    summary = f" {category.text.en}" if category is not None and category.text else ""
    return {
        "decision_ground": DecisionGround.ILLEGAL_CONTENT,
        "decision_ground_reference_url": str(pack.source.url) if pack.source.url else None,
        "illegal_content_legal_ground": _clip(f"{pack.title.en}, art. {decision.citation}", 500),
        "illegal_content_explanation": _clip(
            f"The content was assessed as {label} ({decision.category}) under "
            f"{pack.title.en}, art. {decision.citation}.{summary}",
            MAX_EXPLANATION,
        ),
    }


def statement_for(
    decision: Decision,
    case: Case,
    pack: Pack,
    *,
    flaggers: Mapping[uuid.UUID, str] | None = None,
) -> StatementOfReasons | None:
    """The statement of reasons due for ``decision`` (None if it restricts nothing).

    ``pack`` is the ``eu-dsa`` pack (its action mappings and countries); ``case`` carries
    the notices and screened items; ``flaggers`` names trusted flaggers by id.
    Raises :class:`StatementRejected` when the decision cannot make a valid statement.
    """
    restriction = restriction_of(pack, decision.actions)
    if not restriction.any:
        return None
    terms = decision.pack_id == TERMS_PACK_ID
    category_key = TERMS_CATEGORY if terms else decision.category
    found = pack.category(decision.category)
    label = decision.category.removeprefix("tos.") if terms or found is None else found.label.en
    content_type, content_type_other = _content_type(case)
    source_type, source_identity = _source(decision, case, flaggers or {})
    end = _day(decision.suspend_until) if decision.suspend_until else None
    fields: dict[str, Any] = {
        "decision_visibility": list(restriction.visibility) or None,
        "decision_visibility_other": restriction.visibility_other,
        "decision_monetary": restriction.monetary,
        "decision_monetary_other": restriction.monetary_other,
        "decision_provision": restriction.provision,
        "decision_account": restriction.account,
        **_ground(decision, pack, redact(label)),
        "content_type": content_type,
        "content_type_other": content_type_other,
        "category": category_key,
        "territorial_scope": territorial_scope(pack),
        "content_date": _day(decision.content_date),
        "application_date": _day(decision.decided_at),
        "end_date_monetary_restriction": end if _suspends(restriction.monetary) else None,
        "end_date_service_restriction": end if _suspends(restriction.provision) else None,
        "end_date_account_restriction": end if _suspends(restriction.account) else None,
        "decision_facts": _clip(redact(decision.facts, known_identifiers(case)), MAX_FACTS),
        "source_type": source_type,
        "source_identity": source_identity,
        "automated_detection": YesNo.YES if decision.automated_detection else YesNo.NO,
        "automated_decision": AUTOMATED[AutomatedDecision(decision.automated_decision)],
        "puid": decision.puid,
    }
    try:
        return StatementOfReasons.model_validate(fields)
    except ValidationError as exc:
        raise StatementRejected(f"decision {decision.puid}: {first_error(exc)}") from exc


def first_error(exc: ValidationError) -> str:
    """The first problem of a validation error, as one line."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


# Streaming the statements of a period out of the database.


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
