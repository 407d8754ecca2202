"""Request and response bodies of the identity API.

Responses never carry a document number or a name, except the one reveal of an approved
disclosure, and request models keep them out of their ``repr``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.identity.disclosure import DisclosureView, RevealedIdentity
from trustdesk.identity.service import MAX_NAME, MAX_NUMBER, MAX_SUBJECT, StatusView
from trustdesk.identity.vocabulary import DisclosureStatus, IdentityKind, IdentityStatus


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(max_length=16, description="A document type, such as `cn.ric`.")
    number: str = Field(max_length=MAX_NUMBER, repr=False)


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(max_length=MAX_SUBJECT, description="The provider's account id.")
    kind: IdentityKind
    name: str = Field(max_length=MAX_NAME, repr=False)
    document: DocumentIn


class IdentityOut(BaseModel):
    subject: str
    status: IdentityStatus
    kind: IdentityKind | None
    document_type: str | None
    reason: str | None = Field(description="Why a registration was rejected (a stable code).")
    verified_at: datetime | None
    erase_after: datetime | None

    @classmethod
    def of(cls, view: StatusView) -> IdentityOut:
        return cls.model_validate(view, from_attributes=True)


class DisclosureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service_id: uuid.UUID
    authority: str = Field(max_length=200, description="Who asks, e.g. a court or police unit.")
    legal_basis: str = Field(max_length=500, description="The law and article relied on.")
    reference: str = Field(max_length=200, description="The authority's case or order number.")
    subjects: list[str] = Field(max_length=1000, description="The account ids to disclose.")


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=500)


class VoteOut(BaseModel):
    username: str
    approve: bool
    reason: str | None
    at: datetime


class DisclosureOut(BaseModel):
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

    @classmethod
    def of(cls, view: DisclosureView) -> DisclosureOut:
        return cls.model_validate(view, from_attributes=True)


class RevealedOut(BaseModel):
    subject: str
    found: bool
    status: str | None
    kind: str | None
    document_type: str | None
    name: str | None
    number: str | None

    @classmethod
    def of(cls, item: RevealedIdentity) -> RevealedOut:
        return cls.model_validate(item, from_attributes=True)


class RevealOut(BaseModel):
    disclosure: DisclosureOut
    identities: list[RevealedOut]
