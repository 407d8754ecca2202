"""Sessions, sign-in, CSRF and the permission every console view asks for."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from console_support import Visitor
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount

from trustdesk.console import web
from trustdesk.permissions import Permission

from desk import Desk

P = Permission
PUBLIC_VIEWS = {
    "home",
    "login",
    "login_submit",
    "logout",
    "language",
    "notice_form",
    "notice_submit",
    "receipt",
    "outcome_form",
    "outcome",
    "notifier_appeal",
}
# views for any signed-in user (their own account): view -> (method, path)
SIGNED_IN_VIEWS: dict[str, tuple[str, str]] = {
    "account": ("GET", "/console/account"),
    "sign_out_everywhere": ("POST", "/console/account/sign-out-everywhere"),
}
# view -> (method, path with {id}, the permission it needs)
STAFF_VIEWS: dict[str, tuple[str, str, Permission]] = {
    "queue": ("GET", "/console/queue", P.CASES_CASE_READ),
    "case": ("GET", "/console/cases/{id}", P.CASES_CASE_READ),
    "case_actions": ("GET", "/console/cases/{id}/actions", P.CASES_CASE_READ),
    "claim": ("POST", "/console/cases/{id}/claim", P.CASES_CASE_DECIDE),
    "release": ("POST", "/console/cases/{id}/release", P.CASES_CASE_DECIDE),
    "decide": ("POST", "/console/cases/{id}/decision", P.CASES_CASE_DECIDE),
    "appeals": ("GET", "/console/appeals", P.CASES_APPEAL_DECIDE),
    "decide_appeal": ("POST", "/console/appeals/{id}/decision", P.CASES_APPEAL_DECIDE),
    "disclosures": ("GET", "/console/disclosures", P.IDENTITY_DISCLOSURE_APPROVE),
    "vote_disclosure": ("POST", "/console/disclosures/{id}/vote", P.IDENTITY_DISCLOSURE_APPROVE),
    "disclosure_requests": ("GET", "/console/disclosures/requests", P.IDENTITY_DISCLOSURE_REQUEST),
    "request_disclosure": ("POST", "/console/disclosures/requests", P.IDENTITY_DISCLOSURE_REQUEST),
    "reveal_disclosure": (
        "POST",
        "/console/disclosures/{id}/reveal",
        P.IDENTITY_DISCLOSURE_REQUEST,
    ),
    "compliance": ("GET", "/console/compliance", P.COMPLIANCE_REGISTER_READ),
    "transparency": ("GET", "/console/compliance/transparency", P.COMPLIANCE_REPORT_READ),
    "transparency_report": ("POST", "/console/compliance/transparency", P.COMPLIANCE_REPORT_READ),
    **{  # the register's pages: /console/compliance/services/{id}/...
        name: (method, f"/console/compliance/services/{{id}}/{rest}", permission)
        for name, method, rest, permission in (
            ("compliance_filings", "GET", "filings", P.COMPLIANCE_REGISTER_READ),
            ("compliance_record_filing", "POST", "filings", P.COMPLIANCE_REGISTER_MANAGE),
            (
                "compliance_attach_document",
                "POST",
                "filings/{id}/documents",
                P.COMPLIANCE_REGISTER_MANAGE,
            ),
            (
                "compliance_document",
                "GET",
                "filings/{id}/documents/{id}",
                P.COMPLIANCE_REGISTER_READ,
            ),
            ("compliance_servers", "GET", "servers", P.COMPLIANCE_REGISTER_READ),
            ("compliance_record_server", "POST", "servers", P.COMPLIANCE_REGISTER_MANAGE),
            (
                "compliance_remove_server",
                "POST",
                "servers/{id}/remove",
                P.COMPLIANCE_REGISTER_MANAGE,
            ),
            ("compliance_import_servers", "POST", "servers/import", P.COMPLIANCE_REGISTER_MANAGE),
            ("compliance_servers_csv", "GET", "servers.csv", P.COMPLIANCE_REGISTER_READ),
            ("compliance_residency", "GET", "residency", P.COMPLIANCE_REGISTER_READ),
            (
                "compliance_check_residency",
                "POST",
                "residency/check",
                P.COMPLIANCE_REGISTER_MANAGE,
            ),
            (
                "compliance_resolve_finding",
                "POST",
                "residency/findings/{id}/resolve",
                P.COMPLIANCE_REGISTER_MANAGE,
            ),
            ("compliance_crypto", "GET", "crypto", P.COMPLIANCE_REGISTER_READ),
            ("compliance_record_crypto", "POST", "crypto", P.COMPLIANCE_REGISTER_MANAGE),
            (
                "compliance_remove_crypto",
                "POST",
                "crypto/{id}/remove",
                P.COMPLIANCE_REGISTER_MANAGE,
            ),
            ("compliance_cbom", "GET", "cbom.json", P.COMPLIANCE_REGISTER_READ),
        )
    },
    "record_log": ("GET", "/console/log", P.RECORDS_LOG_READ),
    "users": ("GET", "/console/admin/users", P.AUTH_USER_MANAGE),
    "user": ("GET", "/console/admin/users/{id}", P.AUTH_USER_MANAGE),
    "create_user": ("POST", "/console/admin/users", P.AUTH_USER_MANAGE),
    "set_user_roles": ("POST", "/console/admin/users/{id}/roles", P.AUTH_USER_MANAGE),
    "set_user_active": ("POST", "/console/admin/users/{id}/active", P.AUTH_USER_MANAGE),
    "set_user_password": ("POST", "/console/admin/users/{id}/password", P.AUTH_USER_MANAGE),
    "end_user_sessions": ("POST", "/console/admin/users/{id}/sessions/end", P.AUTH_USER_MANAGE),
    "confirm_user_role": (
        "POST",
        "/console/admin/users/{id}/roles/disclosure_approver/confirm",
        P.AUTH_USER_MANAGE,
    ),
    "services": ("GET", "/console/admin/services", P.COMPLIANCE_SERVICE_READ),
    "create_service": ("POST", "/console/admin/services", P.COMPLIANCE_SERVICE_MANAGE),
    "issue_api_key": ("POST", "/console/admin/services/{id}/keys", P.COMPLIANCE_SERVICE_MANAGE),
    "revoke_api_key": (
        "POST",
        "/console/admin/services/{id}/keys/{id}/revoke",
        P.COMPLIANCE_SERVICE_MANAGE,
    ),
    "rulesets": ("GET", "/console/admin/rulesets", P.SCREENING_RULESET_READ),
    "ruleset_check": ("POST", "/console/admin/rulesets/check", P.SCREENING_RULESET_READ),
    "ruleset_deploy": ("POST", "/console/admin/rulesets/deploy", P.SCREENING_RULESET_DEPLOY),
    "ruleset_activate": (
        "POST",
        "/console/admin/rulesets/{id}/activate",
        P.SCREENING_RULESET_DEPLOY,
    ),
    "ruleset_archive": ("GET", "/console/admin/rulesets/{id}/archive", P.SCREENING_RULESET_READ),
}
# someone who lacks each permission
LACKING = {
    P.CASES_CASE_READ: "approver.one",
    P.CASES_CASE_DECIDE: "auditor.one",
    P.CASES_APPEAL_DECIDE: "mod.one",
    P.IDENTITY_DISCLOSURE_APPROVE: "auditor.one",
    P.IDENTITY_DISCLOSURE_REQUEST: "mod.one",
    P.COMPLIANCE_REGISTER_READ: "mod.one",
    P.COMPLIANCE_REGISTER_MANAGE: "auditor.one",
    P.COMPLIANCE_REPORT_READ: "approver.one",
    P.RECORDS_LOG_READ: "approver.one",
    P.AUTH_USER_MANAGE: "auditor.one",
    P.COMPLIANCE_SERVICE_READ: "mod.one",
    P.COMPLIANCE_SERVICE_MANAGE: "auditor.one",
    P.SCREENING_RULESET_READ: "approver.one",
    P.SCREENING_RULESET_DEPLOY: "mod.one",
}


def console_routes(app: FastAPI) -> list[APIRoute]:
    """Every view of the mounted console (FastAPI keeps included routers as branches)."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/console")
    found: list[APIRoute] = []
    pending = list(mount.routes)
    while pending:
        route = pending.pop()
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            pending.extend(route.original_router.routes)
    return found


def permission_of(route: APIRoute) -> Any:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        found = getattr(dependency.call, "permission", None)
        if found is not None:
            return found
        pending.extend(dependency.dependencies)
    return None


def depends_on(route: APIRoute, call: Any) -> bool:
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if dependency.call is call:
            return True
        pending.extend(dependency.dependencies)
    return False


def test_every_view_is_public_or_asks_for_its_permission(app: FastAPI) -> None:
    routes = {route.name: route for route in console_routes(app)}
    assert set(routes) == PUBLIC_VIEWS | set(SIGNED_IN_VIEWS) | set(STAFF_VIEWS), "list it here"
    for name in PUBLIC_VIEWS:
        assert permission_of(routes[name]) is None, name
        assert not depends_on(routes[name], web.signed_in), name
    for name, (method, _path) in SIGNED_IN_VIEWS.items():
        assert permission_of(routes[name]) is None, name
        assert depends_on(routes[name], web.signed_in), name
        assert method in routes[name].methods
    for name, (method, _path, permission) in STAFF_VIEWS.items():
        assert permission_of(routes[name]) == permission, name
        assert method in routes[name].methods


def _call(visitor: Visitor, method: str, path: str) -> Any:
    if method == "GET":
        return visitor.get(path, follow_redirects=False)
    return visitor.post(path, {"facts": "x", "outcome": "uphold"})


@pytest.mark.parametrize("view", sorted(STAFF_VIEWS) + sorted(SIGNED_IN_VIEWS))
def test_anonymous_visitors_are_sent_to_sign_in(visitor: Visitor, view: str) -> None:
    method, path = STAFF_VIEWS[view][:2] if view in STAFF_VIEWS else SIGNED_IN_VIEWS[view]
    answer = _call(visitor, method, path.format(id=uuid.uuid4()))
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/login?next=%2Fconsole%2F")


@pytest.mark.parametrize("view", sorted(STAFF_VIEWS))
def test_each_view_refuses_a_role_without_its_permission(
    visitor: Visitor, desk: Desk, approver: str, held_case: str, view: str
) -> None:
    method, path, permission = STAFF_VIEWS[view]
    visitor.sign_in(LACKING[permission])
    answer = _call(visitor, method, path.format(id=held_case))
    assert answer.status_code == 403, answer.text
    assert "text/html" in answer.headers["content-type"]
    assert "permission_denied" in answer.text
    assert "Your role does not allow this page or action." in answer.text


def test_the_session_cookie_is_signed_http_only_lax_and_secure(visitor: Visitor) -> None:
    answer = visitor.get("/console/login")
    cookie = answer.headers["set-cookie"].lower()
    assert "trustdesk_console=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie  # outside development
    assert "path=/console" in cookie
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert answer.headers["cache-control"] == "no-store"


def test_a_tampered_session_cookie_is_ignored(visitor: Visitor, desk: Desk) -> None:
    visitor.sign_in("mod.one")
    assert visitor.get("/console/queue").status_code == 200
    jar = visitor.client.cookies
    value = jar.get("trustdesk_session", path="/console")
    assert value
    jar.clear()
    good = {"cookie": f"trustdesk_session={value}"}
    assert visitor.get("/console/queue", headers=good, follow_redirects=False).status_code == 200
    jar.clear()
    forged = {"cookie": f"trustdesk_session={value[:-3]}AAA"}
    assert visitor.get("/console/queue", headers=forged, follow_redirects=False).status_code == 303


def test_signing_in_with_a_wrong_password_fails_clearly(visitor: Visitor, desk: Desk) -> None:
    for username, password in (("mod.one", "wrong-password!"), ("nobody", "x" * 16)):
        answer = visitor.post("/console/login", {"username": username, "password": password})
        assert answer.status_code == 401
        assert "Wrong username or password." in answer.text
        assert 'value="' + username + '"' in answer.text
    assert visitor.get("/console/queue", follow_redirects=False).status_code == 303


def test_sign_in_goes_where_it_was_asked_but_never_off_site(visitor: Visitor, desk: Desk) -> None:
    answer = visitor.post(
        "/console/login", {"username": "mod.one", "password": "x" * 16, "next": "/console/appeals"}
    )
    assert answer.headers["location"] == "/console/appeals"
    visitor.post("/console/logout")
    for evil in ("//evil.example/", "https://evil.example/", "/console/\\evil", "/elsewhere"):
        answer = visitor.post(
            "/console/login", {"username": "mod.one", "password": "x" * 16, "next": evil}
        )
        assert answer.headers["location"] == "/console/queue", evil


def test_signing_out_ends_the_session(visitor: Visitor, desk: Desk) -> None:
    visitor.sign_in("mod.one")
    answer = visitor.post("/console/logout", form_page="/console/queue")
    assert answer.status_code == 303
    assert visitor.get("/console/queue", follow_redirects=False).status_code == 303


def test_forms_without_the_session_token_are_refused(
    visitor: Visitor, desk: Desk, held_case: str
) -> None:
    visitor.sign_in("mod.one")
    claim = f"/console/cases/{held_case}/claim"
    for form in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        answer = visitor.client.post(claim, data=form, follow_redirects=False)
        assert answer.status_code == 403, form
        assert "csrf_failed" in answer.text
        assert "This form has expired" in answer.text
    other = visitor.client.post(claim, headers={"X-CSRF-Token": "forged"}, follow_redirects=False)
    assert other.status_code == 403
    token = visitor.token("/console/queue")
    htmx = visitor.client.post(claim, headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert htmx.status_code == 303
    refused_login = visitor.client.post(
        "/console/login", data={"username": "mod.one", "password": "x" * 16}
    )
    assert refused_login.status_code == 403


def test_a_moderator_may_see_the_queue_but_not_the_appeals(visitor: Visitor, desk: Desk) -> None:
    visitor.sign_in("mod.one")
    assert visitor.get("/console/appeals").status_code == 403
    assert visitor.get("/console/queue").status_code == 200
