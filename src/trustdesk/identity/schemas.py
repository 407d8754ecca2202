"""Request and response bodies of the identity API.

Responses never carry a document number or a name, except the one reveal of an approved
disclosure, and request models keep them out of their ``repr``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.http.fields import Line
from trustdesk.http.views import ViewOut
from trustdesk.identity.documents import registry as documents
from trustdesk.identity.service import MAX_NAME, MAX_NUMBER, MAX_SUBJECT
from trustdesk.identity.vocabulary import DisclosureStatus, IdentityKind, IdentityStatus
from trustdesk.settings import Settings

_NAME_RULE = (
    "Stripped of surrounding white space; then not blank and without control, format, "
    "private-use or unassigned characters."
)
_MAX_SUBJECTS = Settings.model_fields["disclosure_max_subjects"].default


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        max_length=16,
        json_schema_extra={"enum": [*sorted(documents.TYPES)]},
        description="A document type, such as `cn.ric`.",
    )
    number: str = Field(max_length=MAX_NUMBER, json_schema_extra={"minLength": 1}, repr=False)


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Line = Field(
        max_length=MAX_SUBJECT, description=f"The provider's account id. {_NAME_RULE}"
    )
    kind: IdentityKind
    name: Line = Field(max_length=MAX_NAME, description=_NAME_RULE, repr=False)
    document: DocumentIn


class IdentityOut(ViewOut):
    subject: str
    status: IdentityStatus
    kind: IdentityKind | None
    document_type: str | None
    reason: str | None = Field(description="Why a registration was rejected (a stable code).")
    verified_at: datetime | None
    erase_after: datetime | None


class DisclosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    authority: Line = Field(
        max_length=200, description=f"Who asks, e.g. a court or police unit. {_NAME_RULE}"
    )
    legal_basis: Line = Field(
        max_length=500, description=f"The law and article relied on. {_NAME_RULE}"
    )
    reference: Line = Field(
        max_length=200, description=f"The authority's case or order number. {_NAME_RULE}"
    )
    subjects: list[Annotated[Line, Field(max_length=MAX_SUBJECT)]] = Field(
        max_length=1000,
        json_schema_extra={"minItems": 1},
        description=(
            "The account ids to disclose: at most the server's "
            f"`TRUSTDESK_DISCLOSURE_MAX_SUBJECTS` ({_MAX_SUBJECTS} unless configured; no bulk "
            f"disclosure), each as `subject` above. {_NAME_RULE}"
        ),
    )


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Line | None = Field(
        default=None, max_length=500, description=f"Required to reject. {_NAME_RULE}"
    )


class VoteOut(BaseModel):
    username: str
    approve: bool
    reason: str | None
    at: datetime


class DisclosureOut(ViewOut):
    id: uuid.UUID
    service_id: uuid.UUID
    authority: str
    legal_basis: str
    reference: str
    subjects: list[str]
    requested_by: str
    requested_at: datetime
    approvals_required: int
    status: DisclosureStatus
    votes: list[VoteOut]
    decided_at: datetime | None
    expires_at: datetime | None
    revealed_at: datetime | None


class RevealedOut(ViewOut):
    subject: str
    found: bool
    status: str | None
    kind: str | None
    document_type: str | None
    name: str | None
    number: str | None


class RevealOut(BaseModel):
    disclosure: DisclosureOut
    identities: list[RevealedOut]
