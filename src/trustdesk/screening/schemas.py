"""Request and response bodies of the screening API."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.http.views import ViewOut
from trustdesk.screening.engine import Screening, Verdict
from trustdesk.screening.rules import Action, Mode


class ContentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, description="The provider's id for the item.")
    kind: Literal["text"] = "text"
    text: str = Field(max_length=1_000_000)


class ScreenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: ContentBody
    subject: str | None = Field(
        default=None, min_length=1, max_length=200, description="The provider's account id."
    )
    context: dict[str, Any] = Field(default_factory=dict, max_length=50)


class FindingOut(BaseModel):
    rule: str
    category: str
    action: Action
    mode: Mode
    start: int
    end: int


class RuleCountOut(BaseModel):
    rule: str
    category: str
    action: Action
    mode: Mode
    matches: int = Field(description="How often the rule matched, findings kept or not.")


class ScreenResponse(BaseModel):
    id: str
    verdict: Verdict
    findings: list[FindingOut] = Field(
        description="The matches, at most the server's cap (each matched rule's first kept)."
    )
    findings_truncated: bool = Field(
        default=False, description="More matches than findings: the cap was reached."
    )
    rule_counts: list[RuleCountOut] = Field(
        default_factory=list,
        description="Every rule that matched, with its number of matches (past the cap too).",
    )
    ruleset: str | None
    item_id: uuid.UUID | None = Field(
        default=None, description="Where held, blocked or matched content was stored."
    )

    @classmethod
    def of(
        cls, content_id: str, screening: Screening | None, item_id: uuid.UUID | None
    ) -> ScreenResponse:
        if screening is None:
            return cls(id=content_id, verdict=Verdict.ALLOW, findings=[], ruleset=None)
        return cls(
            id=content_id,
            verdict=screening.verdict,
            findings=[FindingOut(**asdict(f)) for f in screening.findings],
            findings_truncated=screening.truncated,
            rule_counts=[RuleCountOut(**asdict(c)) for c in screening.rule_counts],
            ruleset=screening.ruleset,
            item_id=item_id,
        )


class DeploymentOut(ViewOut):
    version: str
    sequence: int
    deployed_at: datetime
    deployed_by: str
    rules: int
    terms: int
    patterns: int
