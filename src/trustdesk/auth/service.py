"""Use cases of the auth slice: issue and check API keys, create and sign in users."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.auth import secrets
from trustdesk.auth.models import ApiKey, User, UserRole
from trustdesk.auth.permissions import Permission, Role, permissions_for
from trustdesk.db.engine import transaction
from trustdesk.errors import Conflict, InvalidInput, Unauthenticated

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
LANGUAGES = frozenset({"zh", "en"})


class UsernameTaken(Conflict):
    code = "username_taken"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


@dataclass(frozen=True, slots=True)
class ServiceCaller:
    """Who is calling the API: a service, identified by one of its keys."""

    service_id: uuid.UUID
    key_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class UserView:
    id: uuid.UUID
    username: str
    display_name: str
    language: str
    roles: tuple[Role, ...]
    active: bool

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            language=user.language,
            roles=tuple(r.role for r in user.roles),
            active=user.active,
        )


def issue_api_key(session: Session, service_id: uuid.UUID, key: str | None = None) -> str:
    """A new API key for ``service_id``; the plaintext is returned once and never stored.

    ``key`` registers a key chosen by the caller instead of a random one; only the demo
    data set does that, so its documented key works on every fresh database.
    """
    key = key or secrets.new_api_key()
    if not key.startswith(secrets.API_KEY_PREFIX):
        raise InvalidInput(f"an API key starts with {secrets.API_KEY_PREFIX!r}")
    with transaction(session):
        session.add(
            ApiKey(
                service_id=service_id,
                prefix=secrets.api_key_prefix(key),
                digest=secrets.api_key_digest(key),
            )
        )
    return key


def authenticate_api_key(session: Session, key: str) -> ServiceCaller:
    """The service a (non-revoked) key belongs to, or :class:`InvalidCredentials`."""
    if not key.startswith(secrets.API_KEY_PREFIX) or len(key) > 128:
        raise InvalidCredentials("the API key is not valid")
    with transaction(session):
        row = session.execute(
            select(ApiKey.id, ApiKey.service_id).where(
                ApiKey.digest == secrets.api_key_digest(key), ApiKey.revoked_at.is_(None)
            )
        ).one_or_none()
    if row is None:
        raise InvalidCredentials("the API key is not valid")
    return ServiceCaller(service_id=row.service_id, key_id=row.id)


def _check_new_user(username: str, password: str, roles: Sequence[Role], language: str) -> None:
    if not USERNAME.fullmatch(username):
        msg = "a username is 2-63 characters: lower-case letters, digits, '.', '_' or '-'"
        raise InvalidInput(msg)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        msg = f"a password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        raise InvalidInput(msg)
    if not roles:
        raise InvalidInput("a user needs at least one role")
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(sorted(LANGUAGES))}")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles: Iterable[Role],
    display_name: str | None = None,
    language: str = "en",
) -> UserView:
    """Create a console user with an argon2id password hash."""
    role_list = sorted(set(roles))
    _check_new_user(username, password, role_list, language)
    with transaction(session):
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise UsernameTaken(f"the username {username!r} is taken")
        user = User(
            username=username,
            display_name=(display_name or username)[:200],
            password_hash=secrets.hash_password(password),
            language=language,
            roles=[UserRole(role=role) for role in role_list],
        )
        session.add(user)
        session.flush()
        return UserView.of(user)


def sign_in(session: Session, username: str, password: str) -> UserView:
    """The user whose name and password these are, or :class:`InvalidCredentials`."""
    with transaction(session):
        user = session.scalar(select(User).where(User.username == username, User.active))
        if not secrets.verify_password(user.password_hash if user else None, password):
            raise InvalidCredentials("wrong username or password")
        assert user is not None  # verify_password says no without a hash
        if secrets.needs_rehash(user.password_hash):
            user.password_hash = secrets.hash_password(password)
        return UserView.of(user)


def list_users(session: Session) -> list[UserView]:
    with transaction(session):
        users = session.scalars(select(User).order_by(User.username)).all()
        return [UserView.of(user) for user in users]
