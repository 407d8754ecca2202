"""Rule-set pages: a service's deployments, the active one first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from trustdesk.compliance import service as compliance
from trustdesk.console import web
from trustdesk.console.pages.compliance import chosen_service
from trustdesk.permissions import Permission
from trustdesk.screening import service as screening

router = APIRouter()
RulesPage = Annotated[web.Page, Depends(web.staff(Permission.SCREENING_RULESET_READ))]
SHOWN = 50


@router.get("/admin/rulesets", name="rulesets")
def rulesets(
    page: RulesPage, service: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    listed = compliance.list_services(page.db)
    service_id = chosen_service(service, listed)
    chosen = compliance.get_service(page.db, service_id) if service_id else None
    deployed = screening.deployments(page.db, service_id, limit=SHOWN) if service_id else []
    return page.render("admin/rulesets.html", services=listed, chosen=chosen, deployments=deployed)
