"""Compliance officers' pages: the obligations dashboard of a service and the
transparency report (its figures drawn as inline SVG bars).

The register's own pages (filings, servers and residency, cryptography), where it is
changed and downloaded, live in the ``compliance_*`` modules beside this one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import Response

from trustdesk.compliance import crypto, filings, inventory, obligations, residency, transparency
from trustdesk.compliance import service as compliance
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.pages.compliance_forms import RegisterPage, registry
from trustdesk.console.problems import describe
from trustdesk.db.base import utcnow
from trustdesk.errors import TrustdeskError
from trustdesk.permissions import Permission
from trustdesk.settings import Settings

router = APIRouter()
ReportPage = Annotated[web.Page, Depends(web.staff(Permission.COMPLIANCE_REPORT_READ))]
BAR_WIDTH = 240  # the longest bar of a chart, in SVG units
STATUSES = {
    obligations.Status.MET: N_("met"),
    obligations.Status.NOT_MET: N_("not met"),
    obligations.Status.UNKNOWN: N_("unknown"),
}
CHARTS = (
    ("notices_by_category", N_("Notices by category")),
    ("notices_by_source", N_("Notices by source")),
    ("decisions_by_action", N_("Decisions by action")),
    ("decisions_by_basis", N_("Decisions by basis")),
    ("automated_detection", N_("Automated detection")),
    ("automated_decision", N_("Automated decision")),
    ("appeals_by_outcome", N_("Appeals by outcome")),
    ("actions_by_status", N_("Actions by delivery status")),
)


def chosen_service(raw: str | None, services: list[compliance.ServiceView]) -> uuid.UUID | None:
    try:
        chosen = uuid.UUID(raw) if raw else None
    except ValueError:
        chosen = None
    if chosen is None and services:
        return services[0].id
    return chosen


@router.get("/compliance", name="compliance")
def dashboard(
    page: RegisterPage, service: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    services = compliance.list_services(page.db)
    service_id = chosen_service(service, services)
    if service_id is None:
        return page.render("compliance/dashboard.html", services=services, chosen=None)
    settings: Settings = page.desk.settings
    chosen = compliance.get_service(page.db, service_id)
    rows = obligations.for_service(
        page.db,
        registry(page),
        service_id,
        checkpoint_interval_seconds=settings.checkpoint_interval_seconds,
    )
    return page.render(
        "compliance/dashboard.html",
        services=services,
        chosen=chosen,
        obligations=rows,
        statuses=STATUSES,
        filings=filings.list_filings(page.db, service_id),
        servers=inventory.list_servers(page.db, service_id),
        findings=residency.list_findings(page.db, service_id),
        assets=crypto.list_assets(page.db, service_id),
        manage=page.user is not None and page.user.can(Permission.COMPLIANCE_REGISTER_MANAGE),
    )


def bars(counts: dict[str, int]) -> list[transparency.Bar]:
    """The bars of one chart, longest first, scaled to :data:`BAR_WIDTH`."""
    return transparency.bars(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), BAR_WIDTH)


def _report_form(
    page: web.Page, status: int = 200, shown: dict[str, object] | None = None
) -> Response:
    today = utcnow().date()
    tomorrow = today + dt.timedelta(days=1)  # the end is exclusive: include today
    defaults = {
        "start": (tomorrow - dt.timedelta(days=30)).isoformat(),
        "end": tomorrow.isoformat(),
    }
    context: dict[str, object] = {"report": None, "charts": [], "error": None, "service": ""}
    context.update(defaults)
    context.update(shown or {})
    return page.render(
        "compliance/transparency.html",
        status,
        services=compliance.list_services(page.db),
        **context,
    )


@router.get("/compliance/transparency", name="transparency")
def transparency_form(page: ReportPage) -> Response:
    return _report_form(page)


@router.post("/compliance/transparency", name="transparency_report")
def transparency_report(
    *,
    page: ReportPage,
    start: Annotated[str, Form(max_length=10)] = "",
    end: Annotated[str, Form(max_length=10)] = "",
    service: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    shown: dict[str, object] = {"start": start, "end": end, "service": service}
    try:
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            service_id = uuid.UUID(service) if service else None
        except ValueError as exc:
            raise transparency.InvalidPeriod("give the period as two dates") from exc
        report = transparency.generate(page.db, first, last, service_id)
    except TrustdeskError as exc:
        problem = describe(exc)
        return _report_form(page, problem.status, {**shown, "error": problem})
    figures = report.as_json()
    counts = {key: getattr(report.cases, key) for key, _title in CHARTS}
    charts = [(title, bars(counts[key])) for key, title in CHARTS]
    charts.append((N_("Screening verdicts"), bars(report.screening)))
    charts.append((N_("Disclosure requests"), bars(report.disclosures)))
    charts.append((N_("Residency findings"), bars(report.residency)))
    return _report_form(page, 200, {**shown, "report": figures, "charts": charts})
