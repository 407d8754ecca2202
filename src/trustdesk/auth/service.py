"""Use cases of the auth slice: issue, list, revoke and check API keys; create, sign in and
administer users (roles, deactivation, passwords).

Deactivating a user, setting their password or changing their roles ends their console
sessions in the same transaction (:mod:`trustdesk.auth.sessions`); the administrator's own
session, when they change their own account, is kept with ``keep_session``.

Administration has guard rails: nobody deactivates themself or takes away their own admin
role, and the last active administrator can be neither deactivated nor demoted, so the desk
always keeps someone who can run it. Every change is a record-log event whose data holds
ids and roles only, never a password or its hash.

Separation of duties (art. 5): whoever creates an account, changes its roles or sets its
password *controls* it (:class:`~trustdesk.auth.models.UserControl`), and control passes
on (an administrator controls what the administrators they made control). An account's
*circle* is itself and everyone who controls it (:func:`circles`); two accounts are
independent when their circles do not meet. The disclosure approver role is held only
once a second administrator, independent of the account, confirms its grant
(:func:`confirm_role`), and never together with the admin role. The command line, run by
whoever holds the database, is the operator (``"by": "cli"`` in the log): it controls no
account, and its approver grants wait for an administrator's confirmation like any other.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustdesk.auth import secrets, sessions
from trustdesk.auth.models import ApiKey, User, UserControl, UserRole, UserToken
from trustdesk.callers import Caller, ServiceCaller, UserCaller
from trustdesk.db.base import utcnow
from trustdesk.db.engine import read_transaction, transaction
from trustdesk.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Unauthenticated
from trustdesk.permissions import Permission, Role, permissions_for
from trustdesk.records import service as records
from trustdesk.records.events import EventType
from trustdesk.text import has_forbidden_characters
from trustdesk.views import view_of

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_DISPLAY_NAME_LENGTH = 200
LANGUAGES = frozenset({"zh", "en"})
# Roles that count only once a second, independent administrator confirms their grant.
CONFIRMED_ROLES = frozenset({Role.DISCLOSURE_APPROVER})
# Roles no account holds together: whoever grants roles never also approves disclosures.
EXCLUSIVE_ROLES = (frozenset({Role.ADMIN, Role.DISCLOSURE_APPROVER}),)
OPERATOR = "cli"  # who the log names for what the command line does


class UsernameTaken(Conflict):
    code = "username_taken"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"


class UserNotFound(NotFound):
    code = "user_not_found"


class OwnAccountProtected(PermissionDenied):
    """An administrator tried to deactivate themself or take away their own admin role."""

    code = "own_account_protected"


class LastAdmin(Conflict):
    """The change would leave the desk without an active administrator."""

    code = "last_admin"


class ExclusiveRoles(InvalidInput):
    """The roles asked for may not be held by one account (admin and disclosure approver)."""

    code = "roles_exclusive"


class GrantNotPending(Conflict):
    """There is no grant of this role waiting for confirmation."""

    code = "grant_not_pending"


class ConfirmationRefused(PermissionDenied):
    """The confirming administrator granted the role, or is not independent of the account."""

    code = "grant_confirmation_refused"


class ApiKeyNotFound(NotFound):
    code = "apikey_not_found"


class ApiKeyRevoked(Conflict):
    code = "apikey_revoked"


MAX_TOKEN_DAYS = 366


@dataclass(frozen=True, slots=True)
class UserView:
    """A user as the other slices see them. ``credentials`` changes whenever their password
    does (a digest of its hash, which it does not reveal): a session made before a new
    password can tell it is stale."""

    id: uuid.UUID
    username: str
    display_name: str
    language: str
    roles: tuple[Role, ...]
    active: bool
    credentials: str
    pending_roles: tuple[Role, ...] = ()  # granted, waiting for a second administrator

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_for(self.roles)

    @classmethod
    def of(cls, user: User) -> UserView:
        return view_of(
            cls,
            user,
            roles=tuple(r.role for r in user.roles if not r.pending),
            credentials=hashlib.sha256(user.password_hash.encode()).hexdigest()[:16],
            pending_roles=tuple(r.role for r in user.roles if r.pending),
        )


@dataclass(frozen=True, slots=True)
class PendingGrant:
    """A role granted to a user that holds no permission until another administrator
    confirms it; ``granted_by`` is None when the command line granted it."""

    user_id: uuid.UUID
    username: str
    role: Role
    granted_by: str | None
    granted_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    """What may be shown of an API key: never its digest, and the plaintext never exists."""

    id: uuid.UUID
    service_id: uuid.UUID
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyView:
        return cls(row.id, row.service_id, row.prefix, row.created_at, row.revoked_at)


def issue_api_key(
    session: Session,
    service_id: uuid.UUID,
    key: str | None = None,
    *,
    by: UserCaller | None = None,
) -> str:
    """A new API key for ``service_id``; the plaintext is returned once and never stored.

    ``key`` registers a key chosen by the caller instead of a random one; only the demo
    data set does that, so its documented key works on every fresh database. ``by`` is the
    person issuing it from the console (checked for the permission and logged); the
    service's first key, issued when it is registered, has none.
    """
    if by is not None:
        by.require(Permission.COMPLIANCE_SERVICE_MANAGE)
    key = key or secrets.new_api_key()
    if not key.startswith(secrets.API_KEY_PREFIX):
        raise InvalidInput(f"an API key starts with {secrets.API_KEY_PREFIX!r}")
    data: dict[str, str] = {}
    if by is not None:
        data["by"] = str(by.user_id)
    with transaction(session):
        row = ApiKey(
            service_id=service_id,
            prefix=secrets.api_key_prefix(key),
            digest=secrets.api_key_digest(key),
        )
        session.add(row)
        session.flush()
        records.append(
            session,
            EventType.AUTH_APIKEY_ISSUED,
            service_id=service_id,
            data={"key_id": str(row.id), "prefix": row.prefix, **data},
        )
    return key


def list_api_keys(session: Session, service_id: uuid.UUID) -> list[ApiKeyView]:
    """A service's API keys, oldest first, revoked ones included."""
    with transaction(session):
        rows = session.scalars(
            select(ApiKey)
            .where(ApiKey.service_id == service_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        ).all()
        return [ApiKeyView.of(row) for row in rows]


def revoke_api_key(
    session: Session, actor: UserCaller, service_id: uuid.UUID, key_id: uuid.UUID
) -> ApiKeyView:
    """Revoke one of ``service_id``'s keys; it stops authenticating at once.

    :class:`ApiKeyNotFound` for a missing key or another service's; :class:`ApiKeyRevoked`
    if it was revoked already.
    """
    actor.require(Permission.COMPLIANCE_SERVICE_MANAGE)
    with transaction(session):
        row = session.scalar(
            select(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.service_id == service_id)
            .with_for_update()
        )
        if row is None:
            raise ApiKeyNotFound(f"service {service_id} has no API key {key_id}")
        if row.revoked_at is not None:
            raise ApiKeyRevoked(f"the API key {row.prefix}... is revoked already")
        row.revoked_at = utcnow()
        session.flush()
        records.append(
            session,
            EventType.AUTH_APIKEY_REVOKED,
            service_id=service_id,
            data={"key_id": str(row.id), "prefix": row.prefix, "by": str(actor.user_id)},
        )
        return ApiKeyView.of(row)


def authenticate_api_key(session: Session, key: str) -> ServiceCaller:
    """The service a (non-revoked) key belongs to, or :class:`InvalidCredentials`."""
    if not key.startswith(secrets.API_KEY_PREFIX) or len(key) > 128:
        raise InvalidCredentials("the API key is not valid")
    with read_transaction(session):
        row = session.execute(
            select(ApiKey.id, ApiKey.service_id).where(
                ApiKey.digest == secrets.api_key_digest(key), ApiKey.revoked_at.is_(None)
            )
        ).one_or_none()
    if row is None:
        raise InvalidCredentials("the API key is not valid")
    return ServiceCaller(service_id=row.service_id, key_id=row.id)


def _check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        msg = f"a password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        raise InvalidInput(msg)
    if "\x00" in password:
        raise InvalidInput("a password may not contain a NUL character")
    try:
        password.encode()
    except UnicodeEncodeError:
        raise InvalidInput("a password must be valid Unicode text") from None


def _check_roles(roles: Sequence[Role]) -> None:
    if not roles:
        raise InvalidInput("a user needs at least one role")
    for exclusive in EXCLUSIVE_ROLES:
        if exclusive <= set(roles):
            names = " and ".join(sorted(exclusive))
            msg = f"one account may not hold both {names}: whoever grants roles never approves"
            raise ExclusiveRoles(msg)


def _grant(role: Role, by: uuid.UUID | None, moment: datetime) -> UserRole:
    """A new role row: pending if the role needs a second administrator's confirmation."""
    return UserRole(role=role, pending=role in CONFIRMED_ROLES, granted_by=by, granted_at=moment)


def _control(
    session: Session, user_id: uuid.UUID, by: uuid.UUID | None, how: str, moment: datetime
) -> None:
    """Record that ``by`` controls ``user_id`` (nobody controls their own account, and the
    operator's command line controls none)."""
    if by is None or by == user_id or session.get(UserControl, (user_id, by, how)) is not None:
        return
    session.add(UserControl(user_id=user_id, controller_id=by, how=how, created_at=moment))
    session.flush()


def _pending_data(roles: Iterable[UserRole]) -> dict[str, list[str]]:
    pending = sorted(str(r.role) for r in roles if r.pending)
    return {"pending": pending} if pending else {}


def circles(
    session: Session, user_ids: Iterable[uuid.UUID]
) -> Mapping[uuid.UUID, frozenset[uuid.UUID]]:
    """Each account's circle: itself and everyone who controls it, directly or through the
    accounts they control. Accounts whose circles do not meet are independent."""
    with transaction(session):
        edges = session.execute(select(UserControl.user_id, UserControl.controller_id)).all()
    controllers: defaultdict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for user_id, controller_id in edges:
        controllers[user_id].add(controller_id)
    found: dict[uuid.UUID, frozenset[uuid.UUID]] = {}
    for user_id in user_ids:
        seen, todo = {user_id}, [user_id]
        while todo:
            for controller in controllers[todo.pop()] - seen:
                seen.add(controller)
                todo.append(controller)
        found[user_id] = frozenset(seen)
    return found


def clean_display_name(display_name: str | None, username: str) -> str:
    """A display name: 1-200 printable characters (the username if none is given)."""
    name = (display_name or "").strip() or username
    if len(name) > MAX_DISPLAY_NAME_LENGTH:
        msg = f"a display name is at most {MAX_DISPLAY_NAME_LENGTH} characters"
        raise InvalidInput(msg)
    if has_forbidden_characters(name):
        raise InvalidInput("a display name may not contain control or format characters")
    return name


def _check_new_user(username: str, password: str, roles: Sequence[Role], language: str) -> None:
    if not USERNAME.fullmatch(username):
        msg = "a username is 2-63 characters: lower-case letters, digits, '.', '_' or '-'"
        raise InvalidInput(msg)
    _check_password(password)
    _check_roles(roles)
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
    by: UserCaller | None = None,
) -> UserView:
    """Create a console user with an argon2id password hash.

    ``by`` is the administrator creating them from the console (checked and logged, and
    from now on in control of the account); the CLI, run by whoever holds the database,
    passes none and is logged as the operator. A role of :data:`CONFIRMED_ROLES` waits for
    a second administrator's confirmation either way.
    """
    if by is not None:
        by.require(Permission.AUTH_USER_MANAGE)
    role_list = sorted(set(roles))
    _check_new_user(username, password, role_list, language)
    shown_name = clean_display_name(display_name, username)
    actor = str(by.user_id) if by is not None else OPERATOR
    moment = utcnow()
    with transaction(session):
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise UsernameTaken(f"the username {username!r} is taken")
        user = User(
            username=username,
            display_name=shown_name,
            password_hash=secrets.hash_password(password),
            language=language,
            roles=[_grant(role, by.user_id if by else None, moment) for role in role_list],
        )
        session.add(user)
        session.flush()
        _control(session, user.id, by.user_id if by else None, "created", moment)
        records.append(
            session,
            EventType.AUTH_USER_CREATED,
            service_id=None,
            data={
                "user_id": str(user.id),
                "roles": [str(role) for role in role_list],
                **_pending_data(user.roles),
                "by": actor,
            },
        )
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


def get_user(session: Session, user_id: uuid.UUID) -> UserView:
    """The user with ``user_id`` (active or not), or :class:`UserNotFound`."""
    with transaction(session):
        user = session.get(User, user_id)
        if user is None:
            raise UserNotFound(f"no user {user_id}")
        return UserView.of(user)


def resume_session(
    session: Session, token: str, lifetimes: sessions.Lifetimes, *, now: datetime | None = None
) -> tuple[sessions.LiveSession, UserView] | None:
    """The live console session a cookie's token names and its user, in one short
    transaction; None if the session is not live or its user is gone or deactivated."""
    with transaction(session):
        live = sessions.find(session, token, lifetimes, now=now)
        if live is None:
            return None
        try:
            user = get_user(session, live.user_id)
        except UserNotFound:
            return None
        return (live, user) if user.active else None


def _locked_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


def _other_active_admins(session: Session, user_id: uuid.UUID) -> int:
    """How many active administrators there are besides ``user_id``.

    The administrators' rows are locked (on PostgreSQL) so that two administrators
    demoting each other at the same moment cannot both succeed.
    """
    others = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.ADMIN, User.active, User.id != user_id)
    )
    locked = session.scalars(others.with_for_update(of=User)).all()
    return len(locked)


def _keep_an_admin(session: Session, user: User, what: str) -> None:
    if _other_active_admins(session, user.id) == 0:
        msg = f"{user.username} is the last active administrator and cannot be {what}"
        raise LastAdmin(msg)


def set_roles(
    session: Session,
    actor: UserCaller,
    user_id: uuid.UUID,
    roles: Iterable[Role],
    *,
    keep_session: uuid.UUID | None = None,
) -> UserView:
    """Give ``user_id`` exactly ``roles`` (at least one), ending their console sessions
    (but ``keep_session``: the actor's own, when they change their own roles); the actor
    then controls them.

    A newly granted role of :data:`CONFIRMED_ROLES` is pending until another administrator
    confirms it (:func:`confirm_role`); roles kept keep their state.
    :class:`OwnAccountProtected` if the actor would take away their own admin role,
    :class:`LastAdmin` if the desk would be left without an active administrator,
    :class:`ExclusiveRoles` for admin with disclosure approver.
    """
    actor.require(Permission.AUTH_USER_MANAGE)
    role_list = sorted(set(roles))
    _check_roles(role_list)
    with transaction(session):
        user = _locked_user(session, user_id)
        before = sorted(r.role for r in user.roles)
        if role_list == before:
            return UserView.of(user)
        if Role.ADMIN in before and Role.ADMIN not in role_list:
            if user.id == actor.user_id:
                raise OwnAccountProtected("you cannot take away your own admin role")
            if user.active:
                _keep_an_admin(session, user, "demoted")
        moment = utcnow()
        kept = [r for r in user.roles if r.role in role_list]
        held = {r.role for r in kept}
        user.roles = kept + [
            _grant(role, actor.user_id, moment) for role in role_list if role not in held
        ]
        session.flush()
        _control(session, user.id, actor.user_id, "roles", moment)
        sessions.revoke_all(session, user.id, keep=_own(actor, user.id, keep_session))
        records.append(
            session,
            EventType.AUTH_USER_ROLES_CHANGED,
            service_id=None,
            data={
                "user_id": str(user.id),
                "roles": [str(role) for role in role_list],
                "previous_roles": [str(role) for role in before],
                **_pending_data(user.roles),
                "by": str(actor.user_id),
            },
        )
        session.refresh(user, ["roles"])
        return UserView.of(user)


def set_active(
    session: Session, actor: UserCaller, user_id: uuid.UUID, *, active: bool
) -> UserView:
    """Deactivate or reactivate ``user_id``.

    A deactivated user can no longer sign in, their console sessions are revoked at once
    and so are their bearer tokens (reactivation does not bring them back).
    :class:`OwnAccountProtected` for one's own account, :class:`LastAdmin` for the last
    active administrator. Setting the state a user already has changes nothing.
    """
    actor.require(Permission.AUTH_USER_MANAGE)
    with transaction(session):
        user = _locked_user(session, user_id)
        if user.active == active:
            return UserView.of(user)
        data: dict[str, object] = {"user_id": str(user.id), "by": str(actor.user_id)}
        if not active:
            if user.id == actor.user_id:
                raise OwnAccountProtected("you cannot deactivate your own account")
            if any(r.role is Role.ADMIN for r in user.roles):
                _keep_an_admin(session, user, "deactivated")
            live = session.scalars(
                select(UserToken).where(
                    UserToken.user_id == user.id, UserToken.revoked_at.is_(None)
                )
            ).all()
            for token in live:
                token.revoked_at = utcnow()
            data["tokens_revoked"] = len(live)
            sessions.revoke_all(session, user.id)
        user.active = active
        session.flush()
        records.append(
            session,
            EventType.AUTH_USER_REACTIVATED if active else EventType.AUTH_USER_DEACTIVATED,
            service_id=None,
            data=data,
        )
        return UserView.of(user)


def set_password(
    session: Session,
    actor: UserCaller,
    user_id: uuid.UUID,
    password: str,
    *,
    keep_session: uuid.UUID | None = None,
) -> UserView:
    """Give ``user_id`` a new password (hashed with argon2id; only the fact is logged),
    ending their console sessions (but ``keep_session``, the actor's own, if theirs).

    The actor knows it, so they control the account from now on (even after the user
    chooses another: meanwhile the actor could have acted as them).
    """
    actor.require(Permission.AUTH_USER_MANAGE)
    _check_password(password)
    password_hash = secrets.hash_password(password)
    with transaction(session):
        user = _locked_user(session, user_id)
        user.password_hash = password_hash
        session.flush()
        _control(session, user.id, actor.user_id, "password", utcnow())
        sessions.revoke_all(session, user.id, keep=_own(actor, user.id, keep_session))
        records.append(
            session,
            EventType.AUTH_USER_PASSWORD_SET,
            service_id=None,
            data={"user_id": str(user.id), "by": str(actor.user_id)},
        )
        return UserView.of(user)


def confirm_role(session: Session, actor: UserCaller, user_id: uuid.UUID, role: Role) -> UserView:
    """Confirm a pending grant of ``role`` to ``user_id``: from now on they hold it.

    The confirming administrator must be independent of the account: not the one who
    granted it, and sharing no one in their circle with the account's (so neither one
    controls the other, and no one controls both). Confirming gives no control over the
    account. :class:`GrantNotPending` if no such grant waits, :class:`ConfirmationRefused`
    if the actor may not confirm it.
    """
    actor.require(Permission.AUTH_USER_MANAGE)
    with transaction(session):
        user = _locked_user(session, user_id)
        grant = next((r for r in user.roles if r.role is role), None)
        if grant is None or not grant.pending:
            raise GrantNotPending(f"{user.username} has no grant of {role} to confirm")
        if actor.user_id in {grant.granted_by, user.id}:
            msg = "you granted this role or hold it: another administrator must confirm it"
            raise ConfirmationRefused(msg)
        found = circles(session, [actor.user_id, user.id])
        if found[actor.user_id] & found[user.id]:
            msg = (
                f"you are not independent of {user.username}: one of you controls the other "
                "or someone controls you both (created, re-roled or reset); another "
                "administrator must confirm"
            )
            raise ConfirmationRefused(msg)
        grant.pending, grant.confirmed_by, grant.confirmed_at = False, actor.user_id, utcnow()
        session.flush()
        records.append(
            session,
            EventType.AUTH_USER_ROLE_CONFIRMED,
            service_id=None,
            data={
                "user_id": str(user.id),
                "role": str(role),
                "granted_by": str(grant.granted_by) if grant.granted_by else OPERATOR,
                "by": str(actor.user_id),
            },
        )
        return UserView.of(user)


def pending_grants(session: Session) -> list[PendingGrant]:
    """Every role grant waiting for a second administrator, oldest first."""
    granter = User.__table__.alias("granter")
    with transaction(session):
        rows = session.execute(
            select(User.id, User.username, UserRole.role, granter.c.username, UserRole.granted_at)
            .join(UserRole, UserRole.user_id == User.id)
            .outerjoin(granter, granter.c.id == UserRole.granted_by)
            .where(UserRole.pending)
            .order_by(UserRole.granted_at, User.username)
        ).all()
    return [PendingGrant(*row) for row in rows]


def _own(actor: UserCaller, user_id: uuid.UUID, keep: uuid.UUID | None) -> uuid.UUID | None:
    """The session to keep: only ever the actor's own, on their own account."""
    return keep if actor.user_id == user_id else None


def sign_out_everywhere(
    session: Session,
    actor: UserCaller,
    user_id: uuid.UUID,
    *,
    keep_session: uuid.UUID | None = None,
) -> int:
    """End every console session of ``user_id`` (but ``keep_session``, the actor's own, on
    their own account); how many were open. Anyone may do it for themself; for someone
    else it takes ``auth:user:manage``. Logged with ids only."""
    if actor.user_id != user_id:
        actor.require(Permission.AUTH_USER_MANAGE)
    with transaction(session):
        user = _locked_user(session, user_id)
        ended = sessions.revoke_all(session, user.id, keep=_own(actor, user.id, keep_session))
        records.append(
            session,
            EventType.AUTH_USER_SIGNED_OUT,
            service_id=None,
            data={"user_id": str(user.id), "sessions": ended, "by": str(actor.user_id)},
        )
        return ended


def issue_user_token(
    session: Session, username: str, *, days: int = 30, now: datetime | None = None
) -> str:
    """A bearer token for ``username`` valid for ``days``; shown once, stored as a digest."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"a token lives 1 to {MAX_TOKEN_DAYS} days")
    token = secrets.new_user_token()
    with transaction(session):
        user = session.scalar(select(User).where(User.username == username, User.active))
        if user is None:
            raise UserNotFound(f"no active user {username!r}")
        row = UserToken(
            user_id=user.id,
            prefix=secrets.api_key_prefix(token),
            digest=secrets.api_key_digest(token),
            expires_at=(now or utcnow()) + timedelta(days=days),
        )
        session.add(row)
        session.flush()
        records.append(
            session,
            EventType.AUTH_TOKEN_ISSUED,
            service_id=None,
            data={"token_id": str(row.id), "user_id": str(user.id), "prefix": row.prefix},
        )
    return token


def authenticate_user_token(
    session: Session, token: str, *, now: datetime | None = None
) -> UserCaller:
    """The active user a live token belongs to, or :class:`InvalidCredentials`."""
    if not token.startswith(secrets.USER_TOKEN_PREFIX) or len(token) > 128:
        raise InvalidCredentials("the token is not valid")
    with read_transaction(session):
        user = session.scalar(
            select(User)
            .join(UserToken, UserToken.user_id == User.id)
            .where(
                UserToken.digest == secrets.api_key_digest(token),
                UserToken.revoked_at.is_(None),
                UserToken.expires_at > (now or utcnow()),
                User.active,
            )
        )
        if user is None:
            raise InvalidCredentials("the token is not valid or has expired")
        view = UserView.of(user)
    return UserCaller(view.id, view.username, view.permissions)


def authenticate(session: Session, token: str) -> Caller:
    """The service or user a bearer credential belongs to (the app's authenticator)."""
    if token.startswith(secrets.USER_TOKEN_PREFIX):
        return authenticate_user_token(session, token)
    return authenticate_api_key(session, token)
