"""Request and response bodies of the compliance API."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import fields
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from trustdesk.compliance import crypto_entry, filings, residency, servers
from trustdesk.compliance.crypto import CryptoAssetView
from trustdesk.compliance.crypto_entry import CryptoAssetIn
from trustdesk.compliance.obligations import ObligationStatus, Status
from trustdesk.compliance.residency import CheckResult
from trustdesk.compliance.servers import ServerIn
from trustdesk.compliance.service import ServiceView
from trustdesk.compliance.vocabulary import (
    AssetKind,
    CryptoAssetType,
    CryptoFunction,
    DataClass,
    FilingStatus,
    FindingReason,
    FindingStatus,
    KeyState,
    KeyType,
    Mode,
    Padding,
    Primitive,
    ProtocolType,
)
from trustdesk.http.fields import LINE, LINE_OR_BLANK, Date, DateTime, Integer, Line
from trustdesk.http.views import ViewOut
from trustdesk.policy.vocabulary import FilingKind, ServiceType


class ServiceOut(ViewOut):
    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    name: str
    types: list[ServiceType]
    packs: list[str]
    created_at: datetime


class Body(BaseModel):
    """A request body: unknown keys are refused (there is no field for key material)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class FilingIn(Body):
    kind: FilingKind
    number: Annotated[Line, Field(max_length=filings.MAX_NUMBER)]
    authority: Annotated[Line, Field(max_length=filings.MAX_AUTHORITY)]
    issued_on: Date
    expires_on: Date | None = None


class DocumentOut(ViewOut):
    id: uuid.UUID
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    log_index: int


class FilingOut(ViewOut):
    id: uuid.UUID
    service_id: uuid.UUID
    kind: FilingKind
    number: str
    authority: str
    issued_on: dt.date
    expires_on: dt.date | None
    status: FilingStatus
    recorded_by: str
    created_at: datetime
    log_index: int
    documents: list[DocumentOut]


class ServerBody(Body):
    name: Annotated[Line, Field(max_length=servers.MAX_NAME)]
    kind: AssetKind
    role: Annotated[Line, Field(max_length=servers.MAX_ROLE)]
    provider: Annotated[Line, Field(max_length=servers.MAX_PROVIDER)]
    location: Annotated[str, Field(max_length=16)]
    gbt2260: Annotated[str, Field(max_length=16)] | None = None
    data_classes: Annotated[list[DataClass], Field(max_length=len(DataClass))] = []
    populations: Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=50)]

    def entry(self) -> ServerIn:
        return ServerIn(
            name=self.name,
            kind=self.kind,
            role=self.role,
            provider=self.provider,
            location=self.location,
            gbt2260=self.gbt2260,
            data_classes=tuple(self.data_classes),
            populations=tuple(self.populations),
        )


class ServerOut(ViewOut):
    id: uuid.UUID
    name: str
    kind: AssetKind
    role: str
    provider: str
    location: str
    gbt2260: str | None
    data_classes: list[DataClass]
    populations: list[str]
    created_at: datetime
    updated_at: datetime


class FindingOut(ViewOut):
    id: uuid.UUID
    server_id: uuid.UUID | None
    server_name: str
    pack_id: str
    obligation_id: str
    article: str
    reason: FindingReason
    detail: str
    status: FindingStatus
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_automatically: bool
    resolution: str | None


class CheckOut(BaseModel):
    servers: int
    rules: list[str]
    opened: list[FindingOut]
    resolved: list[FindingOut]
    open: list[FindingOut]
    compliant: bool

    @classmethod
    def of(cls, result: CheckResult) -> CheckOut:
        return cls(
            servers=result.servers,
            rules=[f"{r.pack_id}/{r.obligation_id}" for r in result.rules],
            opened=[FindingOut.of(f) for f in result.opened],
            resolved=[FindingOut.of(f) for f in result.resolved],
            open=[FindingOut.of(f) for f in result.open],
            compliant=not result.open,
        )


class ServerRecordedOut(BaseModel):
    server: ServerOut
    residency: CheckOut


class ImportOut(BaseModel):
    created: int
    updated: int
    sha256: str
    residency: CheckOut


class ResolveIn(Body):
    reason: Annotated[Line, Field(max_length=residency.MAX_RESOLUTION)]


def _checked(pattern: str, limit: int) -> Any:
    """Text the register checks itself, key material first (``key_material_refused``):
    the document states its limit; validation only stops what no field takes."""
    return Field(
        max_length=crypto_entry.MAX_DN, json_schema_extra={"pattern": pattern, "maxLength": limit}
    )


Text = Annotated[str, _checked(LINE_OR_BLANK, crypto_entry.MAX_DN)]
Name = Annotated[str, _checked(LINE_OR_BLANK, crypto_entry.MAX_NAME)]
Word = Annotated[str, _checked(LINE_OR_BLANK, crypto_entry.MAX_SHORT)]
Suite = Annotated[str, _checked(LINE, crypto_entry.MAX_SHORT)]


class CryptoAssetBody(Body):
    """An algorithm, protocol, certificate or key's metadata. No field takes key material."""

    asset_type: CryptoAssetType
    name: Annotated[str, _checked(LINE, crypto_entry.MAX_NAME)]
    oid: Annotated[str, Field(max_length=100)] | None = None
    servers: Annotated[list[uuid.UUID], Field(max_length=crypto_entry.MAX_SERVERS)] = []
    primitive: Primitive | None = None
    parameter_set: Word | None = None
    curve: Word | None = None
    mode: Mode | None = None
    padding: Padding | None = None
    functions: Annotated[list[CryptoFunction], Field(max_length=len(CryptoFunction))] = []
    security_level: Integer | None = None
    protocol: ProtocolType | None = None
    version: Word | None = None
    cipher_suites: Annotated[list[Suite], Field(max_length=crypto_entry.MAX_SUITES)] = []
    subject_name: Text | None = None
    issuer_name: Text | None = None
    not_valid_before: DateTime | None = None
    not_valid_after: DateTime | None = None
    certificate_format: Word | None = None
    key_type: KeyType | None = None
    key_size: Integer | None = None
    key_state: KeyState | None = None
    key_format: Word | None = None
    secured_by: Name | None = None
    created_on: Date | None = None
    expires_on: Date | None = None
    algorithm_id: uuid.UUID | None = None

    def entry(self) -> CryptoAssetIn:
        values = self.model_dump(exclude={"servers", "functions", "cipher_suites"})
        return CryptoAssetIn(
            **values,
            servers=tuple(self.servers),
            functions=tuple(self.functions),
            cipher_suites=tuple(self.cipher_suites),
        )


class CryptoAssetOut(CryptoAssetBody):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: uuid.UUID
    where: list[str]
    recorded_by: str
    created_at: datetime

    @classmethod
    def of(cls, view: CryptoAssetView) -> CryptoAssetOut:
        entry = view.entry
        return cls(
            id=view.id,
            where=[place.label() for place in view.servers],
            recorded_by=view.recorded_by,
            created_at=view.created_at,
            **{
                **{f.name: getattr(entry, f.name) for f in fields(entry)},
                "servers": list(entry.servers),
                "functions": list(entry.functions),
                "cipher_suites": list(entry.cipher_suites),
            },
        )


class ObligationOut(BaseModel):
    pack: str
    obligation: str
    article: str
    kind: str
    title: dict[str, str]
    status: str
    evidence: list[str]
    due: dt.date | None
    overdue: bool
    due_soon: bool


class ComplianceStatusOut(BaseModel):
    service_id: uuid.UUID
    service: str
    obligations: list[ObligationOut]
    met: int
    not_met: int
    unknown: int
    overdue: int

    @classmethod
    def of(cls, view: ServiceView, rows: list[ObligationStatus]) -> ComplianceStatusOut:
        return cls(
            service_id=view.id,
            service=view.name,
            obligations=[
                ObligationOut(
                    pack=r.pack_id,
                    obligation=r.obligation_id,
                    article=r.article,
                    kind=r.kind,
                    title={"en": r.title_en, "zh": r.title_zh},
                    status=str(r.status),
                    evidence=list(r.evidence),
                    due=r.due,
                    overdue=r.overdue,
                    due_soon=r.due_soon,
                )
                for r in rows
            ],
            met=sum(r.status is Status.MET for r in rows),
            not_met=sum(r.status is Status.NOT_MET for r in rows),
            unknown=sum(r.status is Status.UNKNOWN for r in rows),
            overdue=sum(r.overdue for r in rows),
        )
