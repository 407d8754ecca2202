"""The cryptography inventory's page: record an algorithm, protocol, certificate or key
(its metadata, never the key), remove one, download the CycloneDX CBOM."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import BaseModel, Field

from trustdesk.compliance import crypto, inventory, keymaterial
from trustdesk.compliance import service as compliance
from trustdesk.compliance.crypto_entry import CryptoAssetIn
from trustdesk.compliance.vocabulary import (
    CryptoAssetType,
    CryptoFunction,
    KeyState,
    KeyType,
    Mode,
    Padding,
    Primitive,
    ProtocolType,
)
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.compliance_forms import Entered, ManagePage, RegisterPage, actor, saved
from trustdesk.errors import TrustdeskError
from trustdesk.http.downloads import attachment
from trustdesk.permissions import Permission

router = APIRouter(prefix="/compliance/services/{service_id}")
CBOM_MEDIA_TYPE = "application/vnd.cyclonedx+json"
Text = Annotated[str, Field(max_length=1000)]
Short = Annotated[str, Field(max_length=64)]
# The vocabularies a <select> offers, by field.
CHOICES = {
    "asset_type": CryptoAssetType,
    "primitive": Primitive,
    "mode": Mode,
    "padding": Padding,
    "protocol": ProtocolType,
    "key_type": KeyType,
    "key_state": KeyState,
}


class CryptoForm(BaseModel):
    """The fields of ``POST /v1/compliance/services/{id}/crypto``, as typed."""

    asset_type: Short = ""
    name: Text = ""
    oid: Text = ""
    servers: Annotated[list[str], Field(max_length=200)] = []
    primitive: Short = ""
    parameter_set: Text = ""
    curve: Text = ""
    mode: Short = ""
    padding: Short = ""
    functions: Annotated[list[str], Field(max_length=len(CryptoFunction))] = []
    security_level: Short = ""
    protocol: Short = ""
    version: Text = ""
    cipher_suites: Annotated[str, Field(max_length=5000)] = ""
    subject_name: Text = ""
    issuer_name: Text = ""
    not_valid_before: Short = ""
    not_valid_after: Short = ""
    certificate_format: Text = ""
    key_type: Short = ""
    key_size: Short = ""
    key_state: Short = ""
    key_format: Text = ""
    secured_by: Text = ""
    created_on: Short = ""
    expires_on: Short = ""
    algorithm_id: Short = ""


FREE_TEXT = (
    "name",
    "oid",
    "parameter_set",
    "curve",
    "version",
    "cipher_suites",
    "subject_name",
    "issuer_name",
    "certificate_format",
    "key_format",
    "secured_by",
)


def _text(raw: str) -> str | None:
    return raw if raw.strip() else None


def entry_of(entered: Entered, form: CryptoForm) -> CryptoAssetIn:
    """The entry the form describes (what the page could not read is in ``entered``)."""
    asset_type = entered.choice("asset_type", form.asset_type, CryptoAssetType, required=True)
    entered.required("name", form.name)
    suites = tuple(line.strip() for line in form.cipher_suites.splitlines() if line.strip())
    entry = CryptoAssetIn(
        asset_type=asset_type or CryptoAssetType.ALGORITHM,
        name=form.name,
        oid=_text(form.oid),
        servers=entered.identifiers("servers", form.servers),
        primitive=entered.choice("primitive", form.primitive, Primitive),
        parameter_set=_text(form.parameter_set),
        curve=_text(form.curve),
        mode=entered.choice("mode", form.mode, Mode),
        padding=entered.choice("padding", form.padding, Padding),
        functions=entered.choices("functions", form.functions, CryptoFunction),
        security_level=entered.number("security_level", form.security_level),
        protocol=entered.choice("protocol", form.protocol, ProtocolType),
        version=_text(form.version),
        cipher_suites=suites,
        subject_name=_text(form.subject_name),
        issuer_name=_text(form.issuer_name),
        not_valid_before=entered.moment("not_valid_before", form.not_valid_before),
        not_valid_after=entered.moment("not_valid_after", form.not_valid_after),
        certificate_format=_text(form.certificate_format),
        key_type=entered.choice("key_type", form.key_type, KeyType),
        key_size=entered.number("key_size", form.key_size),
        key_state=entered.choice("key_state", form.key_state, KeyState),
        key_format=_text(form.key_format),
        secured_by=_text(form.secured_by),
        created_on=entered.date("created_on", form.created_on),
        expires_on=entered.date("expires_on", form.expires_on),
        algorithm_id=entered.identifier("algorithm_id", form.algorithm_id),
    )
    entered.check()
    return entry


def _page(
    page: web.Page,
    service_id: uuid.UUID,
    status: int = 200,
    *,
    asset: Entered | None = None,
    removal: Entered | None = None,
) -> Response:
    assert page.user is not None
    assets = crypto.list_assets(page.db, service_id)
    return page.render(
        "compliance/crypto.html",
        status,
        service=compliance.get_service(page.db, service_id),
        assets=assets,
        algorithms=[a for a in assets if a.entry.asset_type is CryptoAssetType.ALGORITHM],
        servers=inventory.list_servers(page.db, service_id),
        choices={name: [str(v) for v in vocabulary] for name, vocabulary in CHOICES.items()},
        functions=[str(f) for f in CryptoFunction],
        manage=page.user.can(Permission.COMPLIANCE_REGISTER_MANAGE),
        form=asset or Entered(),
        removal=removal or Entered(),
    )


@router.get("/crypto", name="compliance_crypto")
def crypto_page(service_id: uuid.UUID, page: RegisterPage) -> Response:
    return _page(page, service_id)


@router.post("/crypto", name="compliance_record_crypto")
def record_crypto(
    *, service_id: uuid.UUID, page: ManagePage, form: Annotated[CryptoForm, Form()]
) -> Response:
    entered = Entered(form.model_dump())
    try:
        crypto.record_asset(page.db, service_id, entry_of(entered, form), by=actor(page))
    except TrustdeskError as exc:
        problem = entered.refused(page, exc)
        if isinstance(exc, keymaterial.KeyMaterialRefused):  # never show a pasted key again
            pasted = [entered.blamed] if entered.blamed in FREE_TEXT else FREE_TEXT
            entered.values.update(dict.fromkeys(pasted, ""))
        return _page(page, service_id, problem.status, asset=entered)
    message = N_("The entry is added to the cryptography inventory.")
    return saved(page, message, "compliance_crypto", service_id=service_id)


@router.post("/crypto/{asset_id}/remove", name="compliance_remove_crypto")
def remove_crypto(*, service_id: uuid.UUID, asset_id: uuid.UUID, page: ManagePage) -> Response:
    entered = Entered({"asset": str(asset_id)})
    try:
        crypto.remove_asset(page.db, service_id, asset_id, by=actor(page))
    except TrustdeskError as exc:
        problem = entered.refused(page, exc)
        return _page(page, service_id, problem.status, removal=entered)
    message = N_("The entry is removed from the cryptography inventory.")
    return saved(page, message, "compliance_crypto", service_id=service_id)


@router.get("/cbom.json", name="compliance_cbom", response_model=None)
def cbom(service_id: uuid.UUID, page: RegisterPage) -> Response:
    """The inventory as a CycloneDX 1.6 CBOM; the export and its SHA-256 are logged."""
    service = compliance.get_service(page.db, service_id)
    exported = crypto.export_cbom(page.db, service_id)
    headers = {
        "Content-Disposition": attachment(f"{service.name}-cbom.json"),
        "Digest": f"sha-256={exported.digest}",
    }
    return Response(exported.document, media_type=CBOM_MEDIA_TYPE, headers=headers)
