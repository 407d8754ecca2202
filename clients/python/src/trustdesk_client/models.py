"""The typed results of the API: frozen dataclasses read from trustdesk's JSON answers.

Each ``from_json`` reads the fields the HTTP API reference documents and ignores any the
server adds later; a field missing or of the wrong type raises :class:`KeyError`,
:class:`TypeError` or :class:`ValueError`, which the client turns into
:class:`~trustdesk_client.errors.UnexpectedAnswer`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trustdesk_client._fields import Json, integer, moment, objects, opt_moment, opt_text, text


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    HOLD = "hold"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's match in the text: ``text[start:end]`` (code points)."""

    rule: str
    category: str
    action: str  # block, hold or flag
    mode: str  # enforce or shadow
    start: int
    end: int

    @classmethod
    def from_json(cls, data: Json) -> Finding:
        return cls(
            rule=text(data, "rule"),
            category=text(data, "category"),
            action=text(data, "action"),
            mode=text(data, "mode"),
            start=integer(data, "start"),
            end=integer(data, "end"),
        )


@dataclass(frozen=True, slots=True)
class RuleCount:
    """How often a rule matched, findings kept or not."""

    rule: str
    category: str
    action: str
    mode: str
    matches: int

    @classmethod
    def from_json(cls, data: Json) -> RuleCount:
        return cls(
            rule=text(data, "rule"),
            category=text(data, "category"),
            action=text(data, "action"),
            mode=text(data, "mode"),
            matches=integer(data, "matches"),
        )


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """A screened item: its verdict, the findings, and where it was stored (if it was)."""

    content_id: str
    verdict: Verdict
    findings: tuple[Finding, ...]
    ruleset: str | None
    item_id: str | None = None
    findings_truncated: bool = False
    rule_counts: tuple[RuleCount, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOW

    @classmethod
    def from_json(cls, data: Json) -> ScreenResult:
        return cls(
            content_id=text(data, "id"),
            verdict=Verdict(text(data, "verdict")),
            findings=tuple(Finding.from_json(f) for f in objects(data, "findings")),
            ruleset=opt_text(data, "ruleset"),
            item_id=opt_text(data, "item_id"),
            findings_truncated=bool(data.get("findings_truncated", False)),
            rule_counts=tuple(RuleCount.from_json(c) for c in objects(data, "rule_counts")),
        )


@dataclass(frozen=True, slots=True)
class ItemError:
    """An item of a batch that was not screened (the others were), with a stable ``code``:
    ``invalid_item``, ``unknown_field``, ``item_too_large``, ``nul_character``,
    ``invalid_content`` or ``duplicate_id``."""

    code: str
    detail: str
    field: str | None = None

    @classmethod
    def from_json(cls, data: Json) -> ItemError:
        return cls(text(data, "code"), text(data, "detail"), opt_text(data, "field"))


@dataclass(frozen=True, slots=True)
class ScreenItem:
    """One item of :meth:`screen_batch`: what :meth:`screen` takes."""

    content_id: str
    text: str
    subject: str | None = None
    context: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    """A subject's identity status (never its data). ``reason`` is a rejection's code."""

    subject: str
    status: str  # verified, rejected, erasure_pending or erased
    kind: str | None
    document_type: str | None
    reason: str | None
    verified_at: datetime | None
    erase_after: datetime | None

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    @classmethod
    def from_json(cls, data: Json) -> Identity:
        return cls(
            subject=text(data, "subject"),
            status=text(data, "status"),
            kind=opt_text(data, "kind"),
            document_type=opt_text(data, "document_type"),
            reason=opt_text(data, "reason"),
            verified_at=opt_moment(data, "verified_at"),
            erase_after=opt_moment(data, "erase_after"),
        )


@dataclass(frozen=True, slots=True)
class NoticeReceipt:
    """A notice received. ``token`` reads its outcome (:meth:`notice_outcome`); shown once."""

    notice_id: str
    token: str = field(repr=False)
    trusted: bool
    received_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> NoticeReceipt:
        return cls(
            notice_id=text(data, "notice_id"),
            token=text(data, "token"),
            trusted=bool(data["trusted"]),
            received_at=moment(data, "received_at"),
        )


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    notice_id: str
    received_at: datetime
    case_status: str
    decision_id: str | None
    decided_at: datetime | None
    actions: tuple[str, ...]
    statement: str | None

    @classmethod
    def from_json(cls, data: Json) -> NoticeOutcome:
        return cls(
            notice_id=text(data, "notice_id"),
            received_at=moment(data, "received_at"),
            case_status=text(data, "case_status"),
            decision_id=opt_text(data, "decision_id"),
            decided_at=opt_moment(data, "decided_at"),
            actions=tuple(str(a) for a in data.get("actions", [])),
            statement=opt_text(data, "statement"),
        )


@dataclass(frozen=True, slots=True)
class Flagger:
    """A trusted flagger registered: its key (``tdf_...``) is shown only this once."""

    id: str
    key: str = field(repr=False)

    @classmethod
    def from_json(cls, data: Json) -> Flagger:
        return cls(text(data, "id"), text(data, "key"))


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    updated_at: datetime

    @classmethod
    def from_json(cls, data: Json) -> Webhook:
        return cls(text(data, "url"), moment(data, "updated_at"))


@dataclass(frozen=True, slots=True)
class WebhookSecret:
    """The webhook set, with its new signing secret: shown only this once."""

    url: str
    updated_at: datetime
    secret: str = field(repr=False)

    @classmethod
    def from_json(cls, data: Json) -> WebhookSecret:
        return cls(text(data, "url"), moment(data, "updated_at"), text(data, "secret"))
