"""Request and response bodies of the screening API."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.screening.engine import Screening, Verdict
from trustdesk.screening.service import DeploymentView


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
    action: str
    mode: str
    start: int
    end: int


class ScreenResponse(BaseModel):
    id: str
    verdict: Verdict
    findings: list[FindingOut]
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
            ruleset=screening.ruleset,
            item_id=item_id,
        )


class DeploymentOut(BaseModel):
    version: str
    sequence: int
    deployed_at: datetime
    deployed_by: str
    rules: int
    terms: int
    patterns: int

    @classmethod
    def of(cls, view: DeploymentView) -> DeploymentOut:
        return cls(
            version=view.version,
            sequence=view.sequence,
            deployed_at=view.deployed_at,
            deployed_by=view.deployed_by,
            rules=view.rules,
            terms=view.terms,
            patterns=view.patterns,
        )
