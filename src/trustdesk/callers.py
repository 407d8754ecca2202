"""Who is calling: a service (by one of its API keys) or a console user (by a token).

Domain types, beside :mod:`trustdesk.permissions`: the slices' use cases take a caller and
decide what it may see and do; how a credential becomes a caller is the auth slice's
:func:`trustdesk.auth.service.authenticate` (an :class:`Authenticator`), and the HTTP
dependencies that ask for one live in :mod:`trustdesk.http.callers`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session

from trustdesk.errors import PermissionDenied
from trustdesk.permissions import Permission


@dataclass(frozen=True, slots=True)
class ServiceCaller:
    """A service, identified by one of its API keys."""

    service_id: uuid.UUID
    key_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class UserCaller:
    """A console user, identified by one of their tokens."""

    user_id: uuid.UUID
    username: str
    permissions: frozenset[Permission]

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise PermissionDenied(f"this needs the permission {permission}")


Caller = ServiceCaller | UserCaller


class Authenticator(Protocol):
    def __call__(self, session: Session, token: str) -> Caller: ...
