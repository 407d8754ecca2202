"""The dependencies that find out who is calling the HTTP API (a :mod:`trustdesk.callers`).

A bearer credential is resolved by the authenticator of the application's wiring (the
auth slice's, see :mod:`trustdesk.wiring`), so every slice's router can ask for a caller
without importing the auth slice. Services send their API key (``td_...``) and see
only their own data; console users send a personal token (``tdu_...``) and act within their
roles' permissions.

The dependencies are coroutines: a service's key found in the desk's ``known_keys`` (for a
second, see :mod:`trustdesk.http.recent`) costs no thread and no query; any other
credential is checked on a worker thread with a session of its own. A remembered key is
checked again behind the request that finds it past half its life (:mod:`.behind`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trustdesk.callers import Authenticator, Caller, ServiceCaller, UserCaller
from trustdesk.db.engine import Database
from trustdesk.errors import PermissionDenied, TrustdeskError, Unauthenticated
from trustdesk.http import behind, problems
from trustdesk.http.deps import desk_in
from trustdesk.http.recent import Recent
from trustdesk.permissions import Permission


class CallersDesk(Protocol):
    """What finding the caller takes from the application's wiring."""

    @property
    def authenticator(self) -> Authenticator: ...

    @property
    def database(self) -> Database: ...

    @property
    def known_keys(self) -> Recent[bytes, ServiceCaller]:
        """Services' callers by their key's digest, remembered for a moment."""


_bearer = HTTPBearer(
    auto_error=False, description="A service API key (`td_...`) or a user token (`tdu_...`)."
)


def _authenticate(desk: CallersDesk, token: str) -> Caller:
    with desk.database.session() as session:
        return desk.authenticator(session, token)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def remembered(desk: CallersDesk, token: str) -> ServiceCaller | None:
    """The service whose API key ``token`` is, if the desk remembers it (no query)."""
    return desk.known_keys.get(_digest(token))


def _asked(desk: CallersDesk, token: str, digest: bytes) -> Caller:
    """The caller ``token`` belongs to, asked (a service then remembered, a refused key
    forgotten: no other request takes it from memory)."""
    try:
        found = _authenticate(desk, token)
    except TrustdeskError:
        desk.known_keys.forget(digest)
        raise
    if isinstance(found, ServiceCaller):
        desk.known_keys.put(digest, found)
    return found


def _refreshed(desk: CallersDesk, token: str, digest: bytes) -> None:
    """:func:`_asked` behind a request: a key refused since is forgotten, not an error."""
    with contextlib.suppress(TrustdeskError):
        _asked(desk, token, digest)


async def authenticated(desk: CallersDesk, token: str) -> Caller:
    """The caller ``token`` belongs to: remembered (refreshed behind this request once past
    half its life), or asked on a worker thread (a service is then remembered; a user never
    is, so a role taken away counts at once)."""
    digest = _digest(token)
    caller, refresh = desk.known_keys.look(digest)
    if caller is not None and (
        not refresh or behind.refresh(functools.partial(_refreshed, desk, token, digest))
    ):
        return caller
    return await run_in_threadpool(_asked, desk, token, digest)


async def any_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """A service or a user, whichever the bearer credential belongs to."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send an API key or user token as `Authorization: Bearer <key>`")
    desk: CallersDesk = desk_in(request)  # (not a dependency: each costs FastAPI a walk)
    return await authenticated(desk, credentials.credentials)


def _asks_for_caller(dependant: Dependant | None) -> bool:
    if dependant is None:
        return False
    return any(
        d.call in (any_caller, service_caller) or _asks_for_caller(d)
        for d in dependant.dependencies
    )


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """The answer to a request that did not validate (a 422), unless the route asks for a
    caller and the request's credential is missing or refused: then that (a 401).

    FastAPI decodes a JSON body, and runs the application's dependencies (the NUL check),
    before a route's own: without this, a malformed body from anyone would be judged
    before their credential, and a caller without one would learn what a route accepts."""
    route = request.scope.get("route")
    if _asks_for_caller(getattr(route, "dependant", None)):
        try:  # the credential judged as the route's own dependency would judge it
            await any_caller(request, await _bearer(request))
        except TrustdeskError as refused:
            return await problems.domain_error(request, refused)
    return await problems.validation_error(request, exc)


async def service_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ServiceCaller:
    """The calling service; routes that act for a service depend on this. (It reads the
    credential itself rather than through :func:`any_caller`: a dependency less for FastAPI
    to walk on every request of the hot routes, ``POST /v1/screen`` first.)"""
    caller = await any_caller(request, credentials)
    if not isinstance(caller, ServiceCaller):
        raise PermissionDenied("this route is for services: use the service's API key")
    return caller


CallerDep = Annotated[ServiceCaller, Depends(service_caller)]
AnyCallerDep = Annotated[Caller, Depends(any_caller)]


async def user_caller(caller: Annotated[Caller, Depends(any_caller)]) -> UserCaller:
    """The calling user; routes that act for a person (never a service) depend on this."""
    if not isinstance(caller, UserCaller):
        raise PermissionDenied("this route is for users: send a personal token (`tdu_...`)")
    return caller


UserCallerDep = Annotated[UserCaller, Depends(user_caller)]


def _denied(permissions: frozenset[Permission]) -> PermissionDenied:
    return PermissionDenied(f"this needs the permission {' or '.join(sorted(permissions))}")


def user_holding(
    *permissions: Permission,
) -> Callable[[UserCaller], Coroutine[Any, Any, UserCaller]]:
    """A dependency: the calling user, who must hold one of ``permissions``.

    Routes ask for it in their signature rather than checking in their body: FastAPI runs
    dependencies before it validates the request's parameters and body, so a caller without
    the permission is refused (403) before anything they sent is looked at, and never
    learns from a 422 or a 404 what the route would have accepted or found.
    """
    wanted = frozenset(permissions)

    async def holder(caller: UserCallerDep) -> UserCaller:
        if not caller.permissions & wanted:
            raise _denied(wanted)
        return caller

    holder.permissions = wanted  # type: ignore[attr-defined]  # read by tests
    return holder


def service_or_user_holding(
    *permissions: Permission,
) -> Callable[[Caller], Coroutine[Any, Any, Caller]]:
    """A dependency: a service (which sees only its own data), or a user holding one of
    ``permissions``; checked before the request is validated, like :func:`user_holding`."""
    wanted = frozenset(permissions)

    async def holder(caller: AnyCallerDep) -> Caller:
        if isinstance(caller, UserCaller) and not caller.permissions & wanted:
            raise _denied(wanted)
        return caller

    holder.permissions = wanted  # type: ignore[attr-defined]  # read by tests
    return holder
