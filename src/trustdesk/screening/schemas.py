"""Request and response bodies of the screening API."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from trustdesk.http.views import ViewOut
from trustdesk.screening.engine import Finding, Screening, Verdict
from trustdesk.screening.rules import Action, Mode
from trustdesk.signals.contract import TEXT_TERMS

# The document says what the validators below check: a text comes with its `text` (and no
# `hashes`), other kinds with `hashes` (and no `text`), so a client generated from it (and
# the fuzz drill) sends only what the server takes.
_ONE_KIND_OF_BODY: list[JsonValue] = [
    {
        "properties": {"kind": {"const": "text"}, "text": {"type": "string"}},
        "required": ["text"],
        "not": {"required": ["hashes"]},
    },
    {
        "properties": {
            "kind": {"enum": ["image", "video", "file"]},
            "hashes": {"type": "object", "minProperties": 1},
        },
        "required": ["kind", "hashes"],
        "not": {"required": ["text"]},
    },
]


class ContentBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": _ONE_KIND_OF_BODY})

    id: str = Field(min_length=1, max_length=200, description="The provider's id for the item.")
    kind: Literal["text", "image", "video", "file"] = Field(
        default="text",
        description="What the content is: `text` (with `text`), or `image`, `video` or "
        "`file` sent as precomputed `hashes` only (an upload of the media itself is not "
        "taken yet).",
    )
    text: str | None = Field(
        default=None,
        max_length=1_000_000,
        validate_default=True,
        description="A text's characters (kind `text`; no other kind has a text).",
    )
    hashes: (
        dict[Annotated[str, Field(max_length=16)], Annotated[str, Field(max_length=70_000)]] | None
    ) = Field(
        default=None,
        max_length=4,
        validate_default=True,
        description="An image's, video's or file's hashes by signal name, matched against "
        "the banks the service meets: `image.pdq` (64 hex digits), `video.pdq` (frame "
        "hashes joined by `,`), `file.sha256` (64 hex), `file.md5` (32 hex). A name the "
        "kind has no signal for is refused (`unknown_signal`, `kind_not_read`), and so is "
        "a malformed value (the signal's own code: `invalid_pdq_hash`, `invalid_hash`).",
        examples=[{"image.pdq": "f" * 64, "file.sha256": "0" * 64}],
    )

    @field_validator("text")
    @classmethod
    def _text_of_a_text(cls, text: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind", "text")
        if kind == "text" and text is None:
            raise ValueError("a text is sent with its text")
        if kind != "text" and text is not None:
            raise ValueError(f"{kind} content is sent as hashes, not text")
        return text

    @field_validator("hashes")
    @classmethod
    def _hashes_of_media(
        cls, hashes: dict[str, str] | None, info: ValidationInfo
    ) -> dict[str, str] | None:
        kind = info.data.get("kind", "text")
        if kind == "text" and hashes is not None:
            raise ValueError("a text has no hashes")
        if kind != "text" and not hashes:
            raise ValueError(f"{kind} content is sent with at least one hash")
        return hashes


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
    signal: str = Field(
        default=TEXT_TERMS,
        description="The signal that matched (`text.terms`: the rule set; `url.domain`: a "
        "link of the text; `image.pdq`, `video.pdq`, `file.sha256`, `file.md5`: a hash). "
        "A bank's finding has the rule `bank:<bank name>`; one with no span is 0-0.",
    )
    bank_id: uuid.UUID | None = Field(default=None, description="The bank that matched.")
    entry_id: uuid.UUID | None = Field(default=None, description="Its entry that matched.")
    distance: int | None = Field(
        default=None, description="Bits between the hashes (PDQ); 0 for exact matches."
    )

    @classmethod
    def of(cls, f: Finding) -> FindingOut:
        entry = f.entry
        return cls(
            rule=f.rule,
            category=f.category,
            action=f.action,
            mode=f.mode,
            start=f.start,
            end=f.end,
            signal=f.signal,
            bank_id=None if entry is None else uuid.UUID(entry.bank),
            entry_id=None if entry is None else uuid.UUID(entry.id),
            distance=None if entry is None else f.distance,
        )


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
            findings=[FindingOut.of(f) for f in screening.findings],
            findings_truncated=screening.truncated,
            rule_counts=[RuleCountOut(**asdict(c)) for c in screening.rule_counts],
            ruleset=screening.ruleset,
            item_id=item_id,
        )


MAX_BATCH_ITEMS = 1000
# Each item is validated on its own (a bad one fails alone, answered with its error), so the
# body takes any JSON value there, and the document says so; it also names what an item is
# to be screened: the body of POST /v1/screen.
BatchItem = Annotated[
    Any,
    WithJsonSchema(
        {
            "anyOf": [{"$ref": "#/components/schemas/ScreenRequest"}, {}],
            "description": "What POST /v1/screen takes; any other value is answered with "
            "its error in its place, and the other items are screened.",
        }
    ),
]


class ScreenBatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[BatchItem] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="1 to 1,000 items, each what `POST /v1/screen` takes.",
    )


class ItemErrorOut(BaseModel):
    """An item of a batch that was not screened (the others were)."""

    code: str = Field(
        description="Stable: `invalid_item`, `unknown_field`, `item_too_large`, "
        "`nul_character`, `invalid_content`, `duplicate_id`."
    )
    detail: str
    field: str | None = Field(default=None, description="The item's field it is about (dotted).")


class ScreenBatchResponse(BaseModel):
    results: list[ScreenResponse | ItemErrorOut] = Field(
        description="One per item, in the order sent: its verdict, or why it was not screened."
    )


def verdict_json(
    content_id: str, screening: Screening | None, item_id: uuid.UUID | None, *, gated: bool
) -> dict[str, Any]:
    """:class:`ScreenResponse` as JSON data (the single endpoint's answer, ``ruleset`` None
    when the gate refused), built directly for the common answer: allowed, no finding."""
    unmatched = screening is not None and not (screening.findings or screening.rule_counts)
    if screening is not None and unmatched and not gated and item_id is None:
        return {
            "id": content_id,
            "verdict": screening.verdict.value,
            "findings": [],
            "findings_truncated": screening.truncated,
            "rule_counts": [],
            "ruleset": screening.ruleset,
            "item_id": None,
        }
    answer = ScreenResponse.of(content_id, screening, item_id)
    return answer.model_dump(mode="json") | ({"ruleset": None} if gated else {})


def json_bytes(data: Any) -> bytes:
    """``data`` as the application's JSON responses write it."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class DeploymentOut(ViewOut):
    version: str
    sequence: int
    deployed_at: datetime
    deployed_by: str
    rules: int
    terms: int
    patterns: int
