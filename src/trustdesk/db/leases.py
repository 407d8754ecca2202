"""Leases: a named job runs in exactly one process of all the hosts sharing one database.

A lease is one row (``leases``): its name, the holder (``host:pid:nonce``) and when it
expires. Taking, renewing and releasing are each one conditional statement in a short
transaction of their own, so two contenders can never both succeed:

- take: ``UPDATE ... WHERE name = :name AND (holder = :me OR expires_at < :now)``, and
  when no row exists yet ``INSERT ... ON CONFLICT DO NOTHING``; the holder is the one
  whose statement changed a row;
- renew: the same update, which succeeds only while the row still names the holder;
- release: ``UPDATE ... SET expires_at = :now WHERE holder = :me`` (anyone may take it at once).

Time is the database's on PostgreSQL (``clock_timestamp()``, one clock for every host) and
the host's on SQLite (one host only). A holder renews every third of the TTL and stops its
job when a renewal fails or it has not managed one for a whole TTL, so a dead or cut-off
holder's job is taken over about one TTL after its last renewal. See
:func:`trustdesk.db.leased.run_under_lease` for the loop that runs a job under a lease.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import String, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from trustdesk.db.base import Base, utcnow
from trustdesk.db.engine import Database

__all__ = ["Lease", "holder_name", "lease_holder", "release", "take"]


class Lease(Base):
    """Who runs the job ``name``, until when (renewed while held)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    taken_at: Mapped[datetime]  # when the current holder took it (kept on renewal)


def holder_name() -> str:
    """A name for one holder in this process: host, process id and a nonce (two loops of
    one process, or a process id reused after a restart, never share a name)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


def database_now(session: Session) -> datetime:
    """The time every host agrees on: PostgreSQL's clock; SQLite's host (one host only)."""
    if session.get_bind().dialect.name == "postgresql":
        now: datetime | None = session.scalar(select(func.clock_timestamp()))
        assert now is not None
        return now
    return utcnow()


def take(
    database: Database, name: str, holder: str, ttl: float, now: datetime | None = None
) -> bool:
    """Take or renew the lease ``name`` for ``ttl`` seconds; whether ``holder`` holds it now.

    ``now`` fixes the clock (tests); by default it is :func:`database_now`.
    """
    with database.transaction() as session:
        moment = now or database_now(session)
        expires = moment + timedelta(seconds=ttl)
        renewed = session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount == 1:  # type: ignore[attr-defined]
            return True
        taken = session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.expires_at < moment)
            .values(holder=holder, expires_at=expires, taken_at=moment)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return True
        values = {"name": name, "holder": holder, "expires_at": expires, "taken_at": moment}
        dialect = session.get_bind().dialect.name
        maker = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = maker(Lease).values(**values).on_conflict_do_nothing(index_elements=["name"])
        return session.scalar(statement.returning(Lease.name)) is not None


def release(database: Database, name: str, holder: str) -> None:
    """Give the lease up (if still held): any contender may take it at once."""
    with database.transaction() as session:
        moment = database_now(session) - timedelta(seconds=1)
        session.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=moment)
            .execution_options(synchronize_session=False)
        )


def lease_holder(database: Database, name: str) -> str | None:
    """Who holds ``name`` now (``None``: nobody, or it has expired)."""
    with database.session() as session:
        moment = database_now(session)
        return session.scalar(
            select(Lease.holder).where(Lease.name == name, Lease.expires_at >= moment)
        )
