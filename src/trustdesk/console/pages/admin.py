"""Administrators' pages: users and their roles, services and their API keys.

Each write is its own POST route asking for its own permission; the auth and compliance
services enforce the guard rails (no locking oneself out, one active administrator at
least) and log every change. A new API key's plaintext appears once, in the page that
answers the POST that made it (``Cache-Control: no-store``): never in the session cookie,
a one-time message or an address.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import Response

from trustdesk.auth import service as auth
from trustdesk.auth import sessions
from trustdesk.compliance import service as compliance
from trustdesk.console import web
from trustdesk.console.i18n import N_
from trustdesk.console.labels import localized
from trustdesk.console.problems import Problem, describe
from trustdesk.errors import InvalidInput, TrustdeskError
from trustdesk.permissions import Permission, Role
from trustdesk.policy.service import PackRegistry
from trustdesk.policy.vocabulary import ServiceType

router = APIRouter()
UsersPage = Annotated[web.Page, Depends(web.staff(Permission.AUTH_USER_MANAGE))]
ServicesPage = Annotated[web.Page, Depends(web.staff(Permission.COMPLIANCE_SERVICE_READ))]
ServicesManagePage = Annotated[web.Page, Depends(web.staff(Permission.COMPLIANCE_SERVICE_MANAGE))]
# Generous bounds that stop junk before a service sees it; the services say the real limits.
Short = Annotated[str, Form(max_length=200)]
Name = Annotated[str, Form(max_length=1000)]
Password = Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)]
Choices = Annotated[list[str] | None, Form(max_length=50)]

ROLES: dict[Role, str] = {
    Role.ADMIN: N_("Administrator"),
    Role.MODERATOR: N_("Moderator"),
    Role.SENIOR_MODERATOR: N_("Senior moderator"),
    Role.COMPLIANCE_OFFICER: N_("Compliance officer"),
    Role.DISCLOSURE_APPROVER: N_("Disclosure approver"),
    Role.AUDITOR: N_("Auditor"),
}
SERVICE_TYPES: dict[ServiceType, str] = {
    ServiceType.INSTANT_MESSAGING: N_("Instant messaging"),
    ServiceType.CLOUD_STORAGE: N_("Cloud storage"),
    ServiceType.ONLINE_CHAT: N_("Online chat"),
    ServiceType.AUDIO_VIDEO_SHARING: N_("Audio and video sharing"),
    ServiceType.SOCIAL_NETWORK: N_("Social network"),
    ServiceType.OTHER: N_("Other"),
}
LANGUAGES = {"zh": "中文", "en": "English"}
# The admin services' own refusals, in words an administrator can act on.
MESSAGES = {
    "own_account_protected": N_(
        "You cannot deactivate your own account or take away your own admin role. "
        "Ask another administrator."
    ),
    "last_admin": N_(
        "This is the last active administrator: the desk must keep one, so this change "
        "is refused. Make someone else an administrator first."
    ),
    "user_not_found": N_("There is no such user."),
    "username_taken": N_("This username is taken; choose another."),
    "apikey_not_found": N_("This service has no such API key."),
    "apikey_revoked": N_("This API key is revoked already."),
    "service_name_taken": N_("A service with this name exists already."),
    "pack_not_found": N_("There is no such policy pack."),
    "roles_exclusive": N_(
        "An administrator cannot also be a disclosure approver: whoever grants roles never "
        "approves disclosures. Choose one of the two."
    ),
    "grant_not_pending": N_("No grant of this role is waiting for confirmation."),
    "grant_confirmation_refused": N_(
        "You cannot confirm this grant: you made it, or you and this user are not "
        "independent (one of you created, re-roled or reset the other, or someone did so to "
        "you both). Another administrator must confirm it."
    ),
}


def _problem(error: TrustdeskError) -> Problem:
    problem = describe(error)
    message = MESSAGES.get(error.code)
    return replace(problem, message=message) if message else problem


def _roles(values: list[str] | None) -> list[Role]:
    try:
        return [Role(value) for value in values or ()]
    except ValueError:
        raise InvalidInput("choose roles from the list") from None


def _service_types(values: list[str] | None) -> list[ServiceType]:
    try:
        return [ServiceType(value) for value in values or ()]
    except ValueError:
        raise InvalidInput("choose service types from the list") from None


# --- users ---------------------------------------------------------------------------


def _users(
    page: web.Page, status: int = 200, error: Problem | None = None, **form: Any
) -> Response:
    return page.render(
        "admin/users.html",
        status,
        users=auth.list_users(page.db),
        pending=auth.pending_grants(page.db),
        roles=ROLES,
        languages=LANGUAGES,
        error=error,
        form=form,
    )


@router.get("/admin/users", name="users")
def users(page: UsersPage) -> Response:
    return _users(page)


@router.post("/admin/users", name="create_user")
def create_user(
    *,
    page: UsersPage,
    username: Short = "",
    display_name: Name = "",
    language: Annotated[str, Form(max_length=8)] = "",
    roles: Choices = None,
    password: Password = "",
) -> Response:
    assert page.user is not None
    form = {
        "username": username,
        "display_name": display_name,
        "language": language,
        "roles": list(roles or ()),
    }
    try:
        created = auth.create_user(
            page.db,
            username=username.strip(),
            password=password,
            roles=_roles(roles),
            display_name=display_name,
            language=language,
            by=page.user.caller(),
        )
    except TrustdeskError as exc:
        problem = _problem(exc)
        return _users(page, problem.status, problem, **form)
    if created.pending_roles:
        page.flash(
            N_(
                "The user is created. Their disclosure approver role applies only once another "
                "administrator confirms it below. Give them their password by a safe channel."
            )
        )
    else:
        page.flash(N_("The user is created. Give them their password by a safe channel."))
    return page.redirect("users")


@router.post("/admin/users/{user_id}/roles/{role}/confirm", name="confirm_user_role")
def confirm_user_role(user_id: uuid.UUID, role: str, page: UsersPage) -> Response:
    """A second administrator confirms a pending grant (the disclosure approver role)."""
    assert page.user is not None
    try:
        chosen = _roles([role[:32]])[0]
        auth.confirm_role(page.db, page.user.caller(), user_id, chosen)
    except auth.UserNotFound:
        raise
    except TrustdeskError as exc:
        problem = _problem(exc)
        return _users(page, problem.status, problem)
    page.flash(N_("The grant is confirmed; the role applies from the user's next request."))
    return page.redirect("users")


def _user(page: web.Page, user_id: uuid.UUID, error: Problem | None = None) -> Response:
    assert page.user is not None
    person = auth.get_user(page.db, user_id)
    live = sessions.list_live(
        page.db, person.id, web.lifetimes_of(page.request), now=web.now_of(page.request)
    )
    return page.render(
        "admin/user.html",
        error.status if error else 200,
        person=person,
        sessions=len(live),
        myself=person.id == page.user.id,
        roles=ROLES,
        languages=LANGUAGES,
        error=error,
    )


@router.get("/admin/users/{user_id}", name="user")
def user(user_id: uuid.UUID, page: UsersPage) -> Response:
    return _user(page, user_id)


def _mine(page: web.Page) -> uuid.UUID | None:
    """The administrator's own session: kept when they change their own account."""
    return page.session.id if page.session is not None else None


def _after(page: web.Page, user_id: uuid.UUID, error: TrustdeskError | None) -> Response:
    """The user's page again: with the refusal, or after the change with its message."""
    if isinstance(error, auth.UserNotFound):
        raise error
    if error is not None:
        return _user(page, user_id, _problem(error))
    return page.redirect("user", user_id=user_id)


@router.post("/admin/users/{user_id}/roles", name="set_user_roles")
def set_user_roles(user_id: uuid.UUID, page: UsersPage, roles: Choices = None) -> Response:
    assert page.user is not None
    try:
        auth.set_roles(
            page.db, page.user.caller(), user_id, _roles(roles), keep_session=_mine(page)
        )
    except TrustdeskError as exc:
        return _after(page, user_id, exc)
    if auth.get_user(page.db, user_id).pending_roles:
        page.flash(
            N_(
                "The roles are changed. A disclosure approver role applies only once "
                "another administrator confirms it."
            )
        )
    else:
        page.flash(
            N_("The roles are changed; the user is signed out and signs in again with them.")
        )
    return _after(page, user_id, None)


@router.post("/admin/users/{user_id}/active", name="set_user_active")
def set_user_active(
    user_id: uuid.UUID, page: UsersPage, active: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    assert page.user is not None
    try:
        if active not in {"yes", "no"}:
            raise InvalidInput("choose to deactivate or to reactivate the user")
        view = auth.set_active(page.db, page.user.caller(), user_id, active=active == "yes")
    except TrustdeskError as exc:
        return _after(page, user_id, exc)
    if view.active:
        page.flash(N_("The user is active again and may sign in."))
    else:
        page.flash(N_("The user is deactivated: signed out, and their tokens revoked."))
    return _after(page, user_id, None)


@router.post("/admin/users/{user_id}/password", name="set_user_password")
def set_user_password(user_id: uuid.UUID, page: UsersPage, password: Password = "") -> Response:
    assert page.user is not None
    try:
        auth.set_password(page.db, page.user.caller(), user_id, password, keep_session=_mine(page))
    except TrustdeskError as exc:
        return _after(page, user_id, exc)
    page.flash(N_("The new password is set. Give it to the user by a safe channel."))
    return _after(page, user_id, None)


@router.post("/admin/users/{user_id}/sessions/end", name="end_user_sessions")
def end_user_sessions(user_id: uuid.UUID, page: UsersPage) -> Response:
    """Sign the user out everywhere (on one's own account: everywhere but here)."""
    assert page.user is not None
    try:
        auth.sign_out_everywhere(page.db, page.user.caller(), user_id, keep_session=_mine(page))
    except TrustdeskError as exc:
        return _after(page, user_id, exc)
    page.flash(N_("The user is signed out everywhere."))
    return _after(page, user_id, None)


# --- services and their API keys -----------------------------------------------------


def _registry(page: web.Page) -> PackRegistry:
    return page.desk.packs


def _services(
    page: web.Page,
    status: int = 200,
    *,
    error: Problem | None = None,
    create_error: Problem | None = None,
    new_key: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    assert page.user is not None
    services = compliance.list_services(page.db)
    packs = [(p.id, localized(p.title, page.language)) for p in _registry(page).all()]
    return page.render(
        "admin/services.html",
        status,
        services=services,
        keys={s.id: auth.list_api_keys(page.db, s.id) for s in services},
        can_manage=page.user.can(Permission.COMPLIANCE_SERVICE_MANAGE),
        service_types=SERVICE_TYPES,
        packs=packs,
        error=error,
        create_error=create_error,
        new_key=new_key,
        form=form or {},
    )


@router.get("/admin/services", name="services")
def services(page: ServicesPage) -> Response:
    return _services(page)


@router.post("/admin/services", name="create_service")
def create_service(
    *, page: ServicesManagePage, name: Name = "", types: Choices = None, packs: Choices = None
) -> Response:
    form = {"name": name, "types": list(types or ()), "packs": list(packs or ())}
    try:
        created = compliance.create_service(
            page.db, _registry(page), name=name, types=_service_types(types), packs=packs or ()
        )
    except TrustdeskError as exc:
        problem = _problem(exc)
        return _services(page, problem.status, create_error=problem, form=form)
    shown = {"service": created.service.name, "key": created.api_key}
    return _services(page, 201, new_key=shown)


@router.post("/admin/services/{service_id}/keys", name="issue_api_key")
def issue_api_key(service_id: uuid.UUID, page: ServicesManagePage) -> Response:
    assert page.user is not None
    try:
        service = compliance.get_service(page.db, service_id)
        key = auth.issue_api_key(page.db, service.id, by=page.user.caller())
    except TrustdeskError as exc:
        problem = _problem(exc)
        return _services(page, problem.status, error=problem)
    return _services(page, 201, new_key={"service": service.name, "key": key})


@router.post("/admin/services/{service_id}/keys/{key_id}/revoke", name="revoke_api_key")
def revoke_api_key(service_id: uuid.UUID, key_id: uuid.UUID, page: ServicesManagePage) -> Response:
    assert page.user is not None
    try:
        auth.revoke_api_key(page.db, page.user.caller(), service_id, key_id)
    except TrustdeskError as exc:
        problem = _problem(exc)
        return _services(page, problem.status, error=problem)
    # This process forgets every remembered key at once (the others within their second;
    # only digests are remembered, so the revoked one cannot be picked out).
    page.desk.known_keys.clear()
    page.flash(N_("The API key is revoked; it no longer works."))
    return page.redirect("services")
