"""The dependencies that find out who is calling the HTTP API (a :mod:`trustdesk.callers`).

A bearer credential is resolved by the authenticator of the application's wiring (the
auth slice's, see :mod:`trustdesk.wiring`), so every slice's router can ask for a caller
without importing the auth slice. Services send their API key (``td_...``) and see
only their own data; console users send a personal token (``tdu_...``) and act within their
roles' permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trustdesk.callers import Authenticator, Caller, ServiceCaller, UserCaller
from trustdesk.errors import PermissionDenied, Unauthenticated
from trustdesk.http.deps import SessionDep, get_desk
from trustdesk.permissions import Permission


class CallersDesk(Protocol):
    """What finding the caller takes from the application's wiring."""

    @property
    def authenticator(self) -> Authenticator: ...


_bearer = HTTPBearer(
    auto_error=False, description="A service API key (`td_...`) or a user token (`tdu_...`)."
)


def any_caller(
    desk: Annotated[CallersDesk, Depends(get_desk)],
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """A service or a user, whichever the bearer credential belongs to."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API key or user token as `Authorization: Bearer <key>`")
    return desk.authenticator(session, credentials.credentials)


def service_caller(caller: Annotated[Caller, Depends(any_caller)]) -> ServiceCaller:
    """The calling service; routes that act for a service depend on this."""
    if not isinstance(caller, ServiceCaller):
        raise PermissionDenied("this route is for services: use the service's API key")
    return caller


CallerDep = Annotated[ServiceCaller, Depends(service_caller)]
AnyCallerDep = Annotated[Caller, Depends(any_caller)]


def user_caller(caller: Annotated[Caller, Depends(any_caller)]) -> UserCaller:
    """The calling user; routes that act for a person (never a service) depend on this."""
    if not isinstance(caller, UserCaller):
        raise PermissionDenied("this route is for users: send a personal token (`tdu_...`)")
    return caller


UserCallerDep = Annotated[UserCaller, Depends(user_caller)]


def _denied(permissions: frozenset[Permission]) -> PermissionDenied:
    return PermissionDenied(f"this needs the permission {' or '.join(sorted(permissions))}")


def user_holding(*permissions: Permission) -> Callable[[UserCaller], UserCaller]:
    """A dependency: the calling user, who must hold one of ``permissions``.

    Routes ask for it in their signature rather than checking in their body: FastAPI runs
    dependencies before it validates the request's parameters and body, so a caller without
    the permission is refused (403) before anything they sent is looked at, and never
    learns from a 422 or a 404 what the route would have accepted or found.
    """
    wanted = frozenset(permissions)

    def holder(caller: UserCallerDep) -> UserCaller:
        if not caller.permissions & wanted:
            raise _denied(wanted)
        return caller

    holder.permissions = wanted  # type: ignore[attr-defined]  # read by tests
    return holder


def service_or_user_holding(*permissions: Permission) -> Callable[[Caller], Caller]:
    """A dependency: a service (which sees only its own data), or a user holding one of
    ``permissions``; checked before the request is validated, like :func:`user_holding`."""
    wanted = frozenset(permissions)

    def holder(caller: AnyCallerDep) -> Caller:
        if isinstance(caller, UserCaller) and not caller.permissions & wanted:
            raise _denied(wanted)
        return caller

    holder.permissions = wanted  # type: ignore[attr-defined]  # read by tests
    return holder
