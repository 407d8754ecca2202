"""HTTP routes of the compliance register.

``/v1/service`` and ``/v1/services/{id}`` answer a service about itself (API key);
``/v1/compliance/...`` is the register for people (user token): reading it needs
``compliance:register:read``, changing it ``compliance:register:manage``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal, Protocol

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile

from trustdesk.callers import UserCaller
from trustdesk.compliance import (
    crypto,
    filings,
    inventory,
    obligations,
    residency,
    service,
    transparency,
)
from trustdesk.compliance.filings import MAX_DOCUMENT_BYTES
from trustdesk.compliance.inventory_csv import MAX_BYTES as MAX_CSV_BYTES
from trustdesk.compliance.schemas import (
    CheckOut,
    ComplianceStatusOut,
    CryptoAssetBody,
    CryptoAssetOut,
    DocumentOut,
    FilingIn,
    FilingOut,
    FindingOut,
    ImportOut,
    ResolveIn,
    ServerBody,
    ServerOut,
    ServerRecordedOut,
    ServiceOut,
)
from trustdesk.compliance.vocabulary import FindingStatus
from trustdesk.http.callers import CallerDep, user_holding
from trustdesk.http.deps import SessionDep, SettingsDep, get_desk
from trustdesk.http.downloads import attachment
from trustdesk.http.fields import Date
from trustdesk.http.problems import CONFLICT_RESPONSES, PROBLEM_RESPONSES
from trustdesk.permissions import Permission
from trustdesk.policy.service import PackRegistry

router = APIRouter(prefix="/v1", tags=["services"], responses=PROBLEM_RESPONSES)
register = APIRouter(prefix="/compliance/services/{service_id}", tags=["compliance register"])
READ, MANAGE = Permission.COMPLIANCE_REGISTER_READ, Permission.COMPLIANCE_REGISTER_MANAGE
Reader = Annotated[UserCaller, Depends(user_holding(READ))]
Manager = Annotated[UserCaller, Depends(user_holding(MANAGE))]
ReportReader = Annotated[UserCaller, Depends(user_holding(Permission.COMPLIANCE_REPORT_READ))]
WarnDays = Annotated[
    int, Query(ge=0, le=filings.MAX_WARN_DAYS, description="Days before expiry to warn.")
]


@router.get("/service", summary="The calling service")
def own_service(caller: CallerDep, session: SessionDep) -> ServiceOut:
    return ServiceOut.of(service.get_service(session, caller.service_id))


@router.get("/services/{service_id}", summary="A service (only the caller's own)")
def get_service(service_id: uuid.UUID, caller: CallerDep, session: SessionDep) -> ServiceOut:
    return ServiceOut.of(service.get_service_for(session, caller, service_id))


class ComplianceDesk(Protocol):
    """What the register's routes take from the application's wiring."""

    @property
    def packs(self) -> PackRegistry: ...


DeskDep = Annotated[ComplianceDesk, Depends(get_desk)]


def _read(upload: UploadFile, limit: int) -> bytes:
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        raise filings.InvalidDocument(f"the file is larger than {limit} bytes")
    return content


# Filings (art. 2)


@register.get("/filings", summary="The service's permits and filings")
def list_filings(
    service_id: uuid.UUID, caller: Reader, session: SessionDep, warn_days: WarnDays = 60
) -> list[FilingOut]:
    views = filings.list_filings(session, service_id, warn_days=warn_days)
    return [FilingOut.of(v) for v in views]


@register.post(
    "/filings",
    summary="Record a permit or filing",
    status_code=201,
    responses=CONFLICT_RESPONSES,
)
def record_filing(
    service_id: uuid.UUID, body: FilingIn, caller: Manager, session: SessionDep
) -> FilingOut:
    view = filings.record_filing(
        session,
        service_id,
        kind=body.kind,
        number=body.number,
        authority=body.authority,
        issued_on=body.issued_on,
        expires_on=body.expires_on,
        by=caller.username,
    )
    return FilingOut.of(view)


@register.get("/filings/{filing_id}", summary="One permit or filing")
def get_filing(
    service_id: uuid.UUID,
    filing_id: uuid.UUID,
    caller: Reader,
    session: SessionDep,
    warn_days: WarnDays = 60,
) -> FilingOut:
    return FilingOut.of(filings.get_filing(session, service_id, filing_id, warn_days=warn_days))


@register.post(
    "/filings/{filing_id}/documents",
    summary="Attach a document (PDF, PNG, JPEG) proving a filing; its SHA-256 is logged",
    status_code=201,
)
def attach_document(
    service_id: uuid.UUID,
    filing_id: uuid.UUID,
    caller: Manager,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="The document (PDF, PNG or JPEG).")],
) -> DocumentOut:
    view = filings.attach_document(
        session,
        service_id,
        filing_id,
        filename=file.filename or "document",
        content=_read(file, MAX_DOCUMENT_BYTES),
        by=caller.username,
    )
    return DocumentOut.of(view)


@register.get(
    "/filings/{filing_id}/documents/{document_id}",
    summary="A filing document, checked against its logged digest",
    response_class=Response,
)
def read_document(
    service_id: uuid.UUID,
    filing_id: uuid.UUID,
    document_id: uuid.UUID,
    caller: Reader,
    session: SessionDep,
) -> Response:
    view, content = filings.read_document(session, service_id, filing_id, document_id)
    headers = {
        "Content-Disposition": attachment(view.filename),
        "X-Content-Type-Options": "nosniff",
        "Digest": f"sha-256={view.digest.hex()}",
    }
    return Response(content, media_type=view.media_type, headers=headers)


# Infrastructure and residency (art. 3, 8)


@register.get("/servers", summary="The service's servers and data stores")
def list_servers(service_id: uuid.UUID, caller: Reader, session: SessionDep) -> list[ServerOut]:
    return [ServerOut.of(v) for v in inventory.list_servers(session, service_id)]


@register.post(
    "/servers",
    summary="Add a server or data store (re-checks residency)",
    status_code=201,
    responses=CONFLICT_RESPONSES,
)
def record_server(
    service_id: uuid.UUID,
    body: ServerBody,
    desk: DeskDep,
    caller: Manager,
    session: SessionDep,
) -> ServerRecordedOut:
    recorded = inventory.record_server(
        session, desk.packs, service_id, body.entry(), by=caller.username
    )
    return ServerRecordedOut(
        server=ServerOut.of(recorded.server), residency=CheckOut.of(recorded.check)
    )


@register.delete("/servers/{server_id}", summary="Remove a server (re-checks residency)")
def remove_server(
    service_id: uuid.UUID,
    server_id: uuid.UUID,
    desk: DeskDep,
    caller: Manager,
    session: SessionDep,
) -> CheckOut:
    result = inventory.remove_server(session, desk.packs, service_id, server_id, by=caller.username)
    return CheckOut.of(result)


@register.post(
    "/servers/import",
    summary="Import servers from CSV: all rows or none",
    responses=CONFLICT_RESPONSES,
)
def import_servers(
    service_id: uuid.UUID,
    desk: DeskDep,
    caller: Manager,
    session: SessionDep,
    file: Annotated[UploadFile, File(description="The inventory as CSV (UTF-8).")],
) -> ImportOut:
    content = _read(file, MAX_CSV_BYTES)
    imported = inventory.import_csv(
        session,
        desk.packs,
        service_id,
        content,
        by=caller.username,
        source=(file.filename or "inventory.csv")[:100],
    )
    return ImportOut(
        created=imported.created,
        updated=imported.updated,
        sha256=imported.digest,
        residency=CheckOut.of(imported.check),
    )


@register.get(
    "/servers.csv",
    summary="The inventory as CSV (formula cells neutralised)",
    response_class=Response,
)
def export_servers(service_id: uuid.UUID, caller: Reader, session: SessionDep) -> Response:
    text = inventory.export_csv(session, service_id)
    headers = {"Content-Disposition": attachment("inventory.csv")}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


@register.post("/residency/check", summary="Run the residency check now")
def check_residency(
    service_id: uuid.UUID, desk: DeskDep, caller: Manager, session: SessionDep
) -> CheckOut:
    return CheckOut.of(residency.check_service(session, desk.packs, service_id))


@register.get("/residency/findings", summary="Residency findings (open, resolved or all)")
def list_findings(
    service_id: uuid.UUID,
    caller: Reader,
    session: SessionDep,
    status: FindingStatus | None = None,
) -> list[FindingOut]:
    return [FindingOut.of(f) for f in residency.list_findings(session, service_id, status)]


@register.post(
    "/residency/findings/{finding_id}/resolve",
    summary="Resolve a finding, saying why",
    responses=CONFLICT_RESPONSES,
)
def resolve_finding(
    service_id: uuid.UUID,
    finding_id: uuid.UUID,
    body: ResolveIn,
    caller: Manager,
    session: SessionDep,
) -> FindingOut:
    view = residency.resolve_finding(
        session, service_id, finding_id, by=caller.username, reason=body.reason
    )
    return FindingOut.of(view)


# Cryptography inventory (art. 3)


@register.get("/crypto", summary="The cryptography inventory")
def list_crypto(service_id: uuid.UUID, caller: Reader, session: SessionDep) -> list[CryptoAssetOut]:
    return [CryptoAssetOut.of(v) for v in crypto.list_assets(session, service_id)]


@register.post(
    "/crypto",
    summary="Add an algorithm, protocol, certificate or key (metadata)",
    status_code=201,
    responses=CONFLICT_RESPONSES,
)
def record_crypto(
    service_id: uuid.UUID, body: CryptoAssetBody, caller: Manager, session: SessionDep
) -> CryptoAssetOut:
    view = crypto.record_asset(session, service_id, body.entry(), by=caller.username)
    return CryptoAssetOut.of(view)


@register.delete("/crypto/{asset_id}", summary="Remove an entry", status_code=204)
def remove_crypto(
    service_id: uuid.UUID, asset_id: uuid.UUID, caller: Manager, session: SessionDep
) -> Response:
    crypto.remove_asset(session, service_id, asset_id, by=caller.username)
    return Response(status_code=204)


@register.get(
    "/cbom",
    summary="The cryptography inventory as a CycloneDX 1.6 CBOM (the export is logged)",
    response_class=Response,
)
def export_cbom(service_id: uuid.UUID, caller: Reader, session: SessionDep) -> Response:
    exported = crypto.export_cbom(session, service_id)
    headers = {"Digest": f"sha-256={exported.digest}", "X-Log-Index": str(exported.log_index)}
    return Response(exported.document, media_type="application/vnd.cyclonedx+json", headers=headers)


router.include_router(register)


@router.get(
    "/compliance/services/{service_id}",
    summary="Every obligation of the service's packs: status, evidence, due date",
    tags=["compliance register"],
)
def compliance_status(
    service_id: uuid.UUID,
    desk: DeskDep,
    caller: Reader,
    session: SessionDep,
    settings: SettingsDep,
) -> ComplianceStatusOut:
    rows = obligations.for_service(
        session,
        desk.packs,
        service_id,
        checkpoint_interval_seconds=settings.checkpoint_interval_seconds,
    )
    return ComplianceStatusOut.of(service.get_service(session, service_id), rows)


@router.get(
    "/compliance/transparency",
    summary="The transparency report for [from, to) as JSON (HTML and CSV with ?format=)",
    tags=["compliance register"],
    response_model=None,
)
def transparency_report(
    caller: ReportReader,
    session: SessionDep,
    *,
    from_: Annotated[Date, Query(alias="from")],
    to: Date,
    service_id: uuid.UUID | None = None,
    format_: Annotated[Literal["json", "csv", "html"], Query(alias="format")] = "json",
) -> Response:
    report = transparency.generate(session, from_, to, service_id)
    if format_ == "html":
        return Response(transparency.to_html(report), media_type="text/html; charset=utf-8")
    if format_ == "csv":
        return Response(transparency.to_csv(report), media_type="text/csv; charset=utf-8")
    return Response(transparency.to_json(report), media_type="application/json")
