"""Tables of the auth slice: API keys, console users, their roles and who controls them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trustdesk.db.base import Base, CreatedAt, StrEnumType, UUIDPrimaryKey
from trustdesk.permissions import Role


class ApiKey(UUIDPrimaryKey, CreatedAt, Base):
    """A service's credential for the HTTP API; only its SHA-256 digest is stored."""

    __tablename__ = "api_keys"

    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    revoked_at: Mapped[datetime | None]


class User(UUIDPrimaryKey, CreatedAt, Base):
    """A person who signs in to the console."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )


class UserRole(Base):
    """One role held by one user, or granted and waiting for its confirmation (``pending``).

    ``granted_by`` is the administrator who granted it (None: the operator's command line,
    or a grant made before grants were recorded); ``confirmed_by`` the second administrator
    who confirmed a role that needs it (:data:`trustdesk.auth.service.CONFIRMED_ROLES`).
    Like the log's ``"by"``, actors' ids carry no foreign key.
    """

    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(StrEnumType(Role, 32), primary_key=True)
    pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    granted_by: Mapped[uuid.UUID | None]  # an actor's id, as the log's "by" (no foreign key)
    granted_at: Mapped[datetime | None]
    confirmed_by: Mapped[uuid.UUID | None]
    confirmed_at: Mapped[datetime | None]


class UserControl(CreatedAt, Base):
    """``controller_id`` controls ``user_id``: they created the account, changed its roles or
    set its password, so they could act as it or chose what it may do. Rows are only ever
    added: a password the user sets later does not undo what the controller could do."""

    __tablename__ = "user_controls"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    controller_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    how: Mapped[str] = mapped_column(String(16), primary_key=True)


class UserToken(UUIDPrimaryKey, CreatedAt, Base):
    """A user's bearer token for the HTTP API (auditors reading the log, scripts)."""

    __tablename__ = "user_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ConsoleSession(UUIDPrimaryKey, CreatedAt, Base):
    """A signed-in console session, kept on the server.

    The browser holds a random 256-bit token; only its SHA-256 digest is stored, so the
    table does not open a session to whoever reads it. The CSRF token is the session's
    own and is only ever embedded in the pages it renders (never in a cookie). A session
    lives until ``expires_at`` (absolute), while seen within the idle timeout
    (``last_seen_at``), and until revoked (sign-out, sign-out everywhere, deactivation, a
    new password or new roles).
    """

    __tablename__ = "console_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
