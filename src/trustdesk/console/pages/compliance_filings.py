"""The filing register's page: record a permit or filing, attach the documents proving it,
download them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from trustdesk.compliance import filings
from trustdesk.compliance import service as compliance
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.compliance_forms import (
    Entered,
    ManagePage,
    RegisterPage,
    actor,
    saved,
    upload,
)
from trustdesk.errors import TrustdeskError
from trustdesk.http.downloads import attachment
from trustdesk.permissions import Permission
from trustdesk.policy.vocabulary import FilingKind

router = APIRouter(prefix="/compliance/services/{service_id}")


class FilingForm(BaseModel):
    """The fields of ``POST /v1/compliance/services/{id}/filings``, as typed."""

    kind: Annotated[str, Field(max_length=32)] = ""
    number: Annotated[str, Field(max_length=1000)] = ""
    authority: Annotated[str, Field(max_length=1000)] = ""
    issued_on: Annotated[str, Field(max_length=32)] = ""
    expires_on: Annotated[str, Field(max_length=32)] = ""


def _page(
    page: web.Page,
    service_id: uuid.UUID,
    status: int = 200,
    *,
    filing: Entered | None = None,
    document: Entered | None = None,
    failed: uuid.UUID | None = None,
) -> Response:
    assert page.user is not None
    return page.render(
        "compliance/filings.html",
        status,
        service=compliance.get_service(page.db, service_id),
        filings=filings.list_filings(page.db, service_id),
        kinds=list(FilingKind),
        manage=page.user.can(Permission.COMPLIANCE_REGISTER_MANAGE),
        form=filing or Entered(),
        document=document or Entered(),
        failed=failed,
        max_megabytes=filings.MAX_DOCUMENT_BYTES // (1024 * 1024),
    )


@router.get("/filings", name="compliance_filings")
def filings_page(service_id: uuid.UUID, page: RegisterPage) -> Response:
    return _page(page, service_id)


@router.post("/filings", name="compliance_record_filing")
def record_filing(
    *, service_id: uuid.UUID, page: ManagePage, form: Annotated[FilingForm, Form()]
) -> Response:
    entered = Entered(form.model_dump())
    try:
        kind = entered.choice("kind", form.kind, FilingKind, required=True)
        entered.required("number", form.number)
        entered.required("authority", form.authority)
        issued_on = entered.date("issued_on", form.issued_on, required=True)
        expires_on = entered.date("expires_on", form.expires_on)
        entered.check()
        assert kind is not None and issued_on is not None  # check() refused them missing
        filings.record_filing(
            page.db,
            service_id,
            kind=kind,
            number=form.number,
            authority=form.authority,
            issued_on=issued_on,
            expires_on=expires_on,
            by=actor(page),
        )
    except TrustdeskError as exc:
        problem = entered.refused(page, exc)
        return _page(page, service_id, problem.status, filing=entered)
    return saved(page, N_("The filing is recorded."), "compliance_filings", service_id=service_id)


@router.post("/filings/{filing_id}/documents", name="compliance_attach_document")
def attach_document(
    *,
    service_id: uuid.UUID,
    filing_id: uuid.UUID,
    page: ManagePage,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    entered = Entered()
    try:
        filename, content = upload(entered, "file", file, filings.MAX_DOCUMENT_BYTES)
        entered.check()
        filings.attach_document(
            page.db, service_id, filing_id, filename=filename, content=content, by=actor(page)
        )
    except TrustdeskError as exc:
        problem = entered.refused(page, exc)
        return _page(page, service_id, problem.status, document=entered, failed=filing_id)
    message = N_("The document is attached; its SHA-256 is in the record log.")
    return saved(page, message, "compliance_filings", service_id=service_id)


@router.get(
    "/filings/{filing_id}/documents/{document_id}", name="compliance_document", response_model=None
)
def document(
    service_id: uuid.UUID, filing_id: uuid.UUID, document_id: uuid.UUID, page: RegisterPage
) -> Response:
    """A filing's document, checked against the digest the record log holds."""
    view, content = filings.read_document(page.db, service_id, filing_id, document_id)
    headers = {
        "Content-Disposition": attachment(view.filename),
        "Digest": f"sha-256={view.digest.hex()}",
    }
    return Response(content, media_type=view.media_type, headers=headers)
