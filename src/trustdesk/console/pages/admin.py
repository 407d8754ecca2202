"""Administrators' pages: users and their roles, services and their API keys."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from trustdesk.auth import service as auth
from trustdesk.compliance import service as compliance
from trustdesk.console import web
from trustdesk.permissions import Permission

router = APIRouter()
UsersPage = Annotated[web.Page, Depends(web.staff(Permission.AUTH_USER_MANAGE))]
ServicesPage = Annotated[web.Page, Depends(web.staff(Permission.COMPLIANCE_SERVICE_READ))]


@router.get("/admin/users", name="users")
def users(page: UsersPage) -> Response:
    return page.render("admin/users.html", users=auth.list_users(page.db))


@router.get("/admin/services", name="services")
def services(page: ServicesPage) -> Response:
    return page.render("admin/services.html", services=compliance.list_services(page.db))
