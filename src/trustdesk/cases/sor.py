"""The DSA Transparency Database statement of reasons (Art. 17, 24(5)) and its rules.

:class:`StatementOfReasons` is one statement as the database's store request validates it
(standards.md §1.3), with the documented rules the server leaves to us (end dates on or after
the application date, ``territorial_scope`` always sent) and one of our own: no personal
data. :mod:`trustdesk.cases.sor_mapping` turns a decision into one;
:mod:`trustdesk.cases.sor_export` streams the due statements of a period.

    InvalidInput
    └── StatementRejected   sor_rejected   a decision cannot become a valid statement
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from trustdesk.cases.redaction import personal_data
from trustdesk.errors import InvalidInput
from trustdesk.policy.sor import (
    DecisionAccount,
    DecisionMonetary,
    DecisionProvision,
    DecisionVisibility,
)

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


TERMS_CATEGORY = StatementCategory.OTHER_VIOLATION_TC


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


Text = Annotated[str, StringConstraints(min_length=1)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SHORT)]
Explanation = Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXPLANATION)]


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


def first_error(exc: ValidationError) -> str:
    """The first problem of a validation error, as one line."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
