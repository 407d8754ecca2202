"""Statements of reasons built from decisions: what a decision's actions restrict, and why.

:func:`statement_for` turns a decision, its case (with its notices) and the ``eu-dsa`` pack
into a :class:`~trustdesk.cases.sor.StatementOfReasons`, or into None when the decision
restricts nothing: a statement is due only for a restriction, so a decision not to act and
the ``restore`` of a reversal get none (the database has no value for lifting a
restriction; the subject's own statement says it).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from trustdesk.cases.models import AutomatedDecision, Case, Decision
from trustdesk.cases.redaction import known_identifiers, redact
from trustdesk.cases.sor import (
    EU_EEA,
    MAX_EXPLANATION,
    MAX_FACTS,
    MAX_SHORT,
    TERMS_CATEGORY,
    TERMS_PACK_ID,
    AutomatedDecisionKey,
    ContentType,
    DecisionGround,
    SourceType,
    StatementOfReasons,
    StatementRejected,
    YesNo,
    first_error,
)
from trustdesk.policy.schema import Pack
from trustdesk.policy.sor import (
    DecisionAccount,
    DecisionMonetary,
    DecisionProvision,
    DecisionVisibility,
)
from trustdesk.policy.vocabulary import ActionKind, Basis

AUTOMATED = {
    AutomatedDecision.FULLY: AutomatedDecisionKey.FULLY,
    AutomatedDecision.PARTIALLY: AutomatedDecisionKey.PARTIALLY,
    AutomatedDecision.NOT_AUTOMATED: AutomatedDecisionKey.NOT_AUTOMATED,
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def _ground(decision: Decision, pack: Pack, label: str) -> dict[str, Any]:
    terms = decision.basis == Basis.TERMS or decision.category == TERMS_CATEGORY
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
