"""HTTP side of auth: the dependency that turns ``Authorization: Bearer <key>`` into a caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from trustdesk.auth import service
from trustdesk.auth.service import ServiceCaller
from trustdesk.errors import Unauthenticated
from trustdesk.http.deps import SessionDep

_bearer = HTTPBearer(auto_error=False, description="A service API key: `td_...`.")


def service_caller(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ServiceCaller:
    """The calling service; every ``/v1`` route that holds service data depends on this."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send the service's API key as `Authorization: Bearer <key>`")
    return service.authenticate_api_key(session, credentials.credentials)


CallerDep = Annotated[ServiceCaller, Depends(service_caller)]
