"""The infrastructure register's pages: servers and data stores (added one by one or from a
CSV file, removed, downloaded as CSV) and the residency findings they raise."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from trustdesk.compliance import inventory, inventory_csv, locations, residency
from trustdesk.compliance import service as compliance
from trustdesk.compliance.servers import MAX_POPULATIONS, ServerIn
from trustdesk.compliance.vocabulary import AssetKind, DataClass
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.compliance_forms import (
    Entered,
    ManagePage,
    RegisterPage,
    actor,
    registry,
    saved,
    upload,
)
from trustdesk.errors import SourceError, TrustdeskError
from trustdesk.http.downloads import attachment
from trustdesk.permissions import Permission

router = APIRouter(prefix="/compliance/services/{service_id}")
NOT_A_LOCATION = N_("Enter an ISO 3166 code like CN or CN-XJ.")
NOT_A_POPULATION = N_("Enter ISO 3166 codes like CN or CN-XJ, separated by spaces or ;.")
NOT_A_DIVISION = N_("Enter the six-digit GB/T 2260 code of a place in the location, like 650102.")
SEPARATORS = re.compile(r"[\s;,]+")


class ServerForm(BaseModel):
    """The fields of ``POST /v1/compliance/services/{id}/servers``, as typed."""

    name: Annotated[str, Field(max_length=1000)] = ""
    kind: Annotated[str, Field(max_length=32)] = ""
    role: Annotated[str, Field(max_length=1000)] = ""
    provider: Annotated[str, Field(max_length=1000)] = ""
    location: Annotated[str, Field(max_length=64)] = ""
    gbt2260: Annotated[str, Field(max_length=64)] = ""
    data_classes: Annotated[list[str], Field(max_length=len(DataClass))] = []
    populations: Annotated[str, Field(max_length=2000)] = ""


def _servers_page(
    page: web.Page,
    service_id: uuid.UUID,
    status: int = 200,
    *,
    server: Entered | None = None,
    imported: Entered | None = None,
    removal: Entered | None = None,
) -> Response:
    assert page.user is not None
    return page.render(
        "compliance/servers.html",
        status,
        service=compliance.get_service(page.db, service_id),
        servers=inventory.list_servers(page.db, service_id),
        kinds=list(AssetKind),
        data_classes=list(DataClass),
        columns=inventory_csv.COLUMNS,
        manage=page.user.can(Permission.COMPLIANCE_REGISTER_MANAGE),
        form=server or Entered(),
        imported=imported or Entered(),
        removal=removal or Entered(),
    )


@router.get("/servers", name="compliance_servers")
def servers_page(service_id: uuid.UUID, page: RegisterPage) -> Response:
    return _servers_page(page, service_id)


def _populations(entered: Entered, raw: str) -> tuple[str, ...]:
    found = tuple(part for part in SEPARATORS.split(raw) if part)
    try:
        for code in found[: MAX_POPULATIONS + 1]:
            locations.region(code)
    except locations.InvalidLocation:
        entered.errors["populations"] = NOT_A_POPULATION
    return found


def _places(entered: Entered, form: ServerForm) -> None:
    """Point at the location, division or population a use case would refuse."""
    try:
        where = locations.location(form.location)
    except locations.InvalidLocation:
        entered.errors["location"] = NOT_A_LOCATION
        return
    if form.gbt2260.strip() and where.startswith("CN-"):
        try:
            locations.division(form.gbt2260, where)
        except locations.InvalidLocation:
            entered.errors["gbt2260"] = NOT_A_DIVISION


@router.post("/servers", name="compliance_record_server")
def record_server(
    *, service_id: uuid.UUID, page: ManagePage, form: Annotated[ServerForm, Form()]
) -> Response:
    entered = Entered(form.model_dump())
    try:
        kind = entered.choice("kind", form.kind, AssetKind, required=True)
        for name in ("name", "role", "provider", "location", "populations"):
            entered.required(name, getattr(form, name))
        data_classes = entered.choices("data_classes", form.data_classes, DataClass)
        populations = _populations(entered, form.populations)
        if "location" not in entered.errors:
            _places(entered, form)
        entered.check()
        entry = ServerIn(
            name=form.name,
            kind=str(kind),
            role=form.role,
            provider=form.provider,
            location=form.location,
            gbt2260=form.gbt2260 or None,
            data_classes=tuple(map(str, data_classes)),
            populations=populations,
        )
        inventory.record_server(page.db, registry(page), service_id, entry, by=actor(page))
    except TrustdeskError as exc:
        problem = entered.refused(page, exc)
        return _servers_page(page, service_id, problem.status, server=entered)
    message = N_("The server is recorded and the residency check has run.")
    return saved(page, message, "compliance_servers", service_id=service_id)


@router.post("/servers/{server_id}/remove", name="compliance_remove_server")
def remove_server(*, service_id: uuid.UUID, server_id: uuid.UUID, page: ManagePage) -> Response:
    entered = Entered({"server": str(server_id)})
    try:
        inventory.remove_server(page.db, registry(page), service_id, server_id, by=actor(page))
    except TrustdeskError as exc:
        problem = entered.refused(page, exc)
        return _servers_page(page, service_id, problem.status, removal=entered)
    message = N_("The server is removed and the residency check has run.")
    return saved(page, message, "compliance_servers", service_id=service_id)


@router.post("/servers/import", name="compliance_import_servers")
def import_servers(
    *,
    service_id: uuid.UUID,
    page: ManagePage,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Create or update every server of a CSV file: all of its rows, or none."""
    entered = Entered()
    try:
        filename, content = upload(entered, "file", file, inventory_csv.MAX_BYTES)
        entered.check()
        inventory.import_csv(
            page.db,
            registry(page),
            service_id,
            content,
            by=actor(page),
            source=filename[:100],
        )
    except TrustdeskError as exc:
        if isinstance(exc, SourceError):
            entered.rows = tuple((p.line, p.message) for p in exc.problems)
        problem = entered.refused(page, exc)
        return _servers_page(page, service_id, problem.status, imported=entered)
    message = N_("The inventory is imported and the residency check has run.")
    return saved(page, message, "compliance_servers", service_id=service_id)


@router.get("/servers.csv", name="compliance_servers_csv", response_model=None)
def servers_csv(service_id: uuid.UUID, page: RegisterPage) -> Response:
    """The inventory as CSV (formula cells neutralised), as the import reads it."""
    service = compliance.get_service(page.db, service_id)
    text = inventory.export_csv(page.db, service_id)
    headers = {"Content-Disposition": attachment(f"{service.name}-servers.csv")}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


# Residency (art. 3, 8)


def _residency_page(
    page: web.Page,
    service_id: uuid.UUID,
    status: int = 200,
    *,
    resolution: Entered | None = None,
    failed: uuid.UUID | None = None,
) -> Response:
    assert page.user is not None
    return page.render(
        "compliance/residency.html",
        status,
        service=compliance.get_service(page.db, service_id),
        findings=residency.list_findings(page.db, service_id),
        manage=page.user.can(Permission.COMPLIANCE_REGISTER_MANAGE),
        form=resolution or Entered(),
        failed=failed,
    )


@router.get("/residency", name="compliance_residency")
def residency_page(service_id: uuid.UUID, page: RegisterPage) -> Response:
    return _residency_page(page, service_id)


@router.post("/residency/check", name="compliance_check_residency")
def check_residency(*, service_id: uuid.UUID, page: ManagePage) -> Response:
    residency.check_service(page.db, registry(page), service_id)
    message = N_("The residency check has run; the findings below are current.")
    return saved(page, message, "compliance_residency", service_id=service_id)


class ResolveForm(BaseModel):
    note: Annotated[str, Field(max_length=4000)] = ""


@router.post("/residency/findings/{finding_id}/resolve", name="compliance_resolve_finding")
def resolve_finding(
    *,
    service_id: uuid.UUID,
    finding_id: uuid.UUID,
    page: ManagePage,
    form: Annotated[ResolveForm, Form()],
) -> Response:
    entered = Entered(form.model_dump())
    try:
        entered.required("note", form.note)
        entered.check()
        residency.resolve_finding(page.db, service_id, finding_id, by=actor(page), reason=form.note)
    except TrustdeskError as exc:
        problem = entered.refused(page, exc, {"reason": "note"})
        return _residency_page(
            page, service_id, problem.status, resolution=entered, failed=finding_id
        )
    message = N_("The finding is resolved; your note is on record.")
    return saved(page, message, "compliance_residency", service_id=service_id)
