"""Shared fixed-window counters: how many requests a client made in a window, counted by
every process and host sharing the database (the public routes' rate limits).

One row per (limit, client, window); counting is one upsert that adds to the row and
returns its new count, in a transaction of its own, so it counts even when the request it
guards then fails (a wrong password must count). Rows of past windows are deleted by
:func:`purge`, so the table holds about one window's clients.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from trustdesk.db.base import Base
from trustdesk.db.engine import Database


class RateWindow(Base):
    """Requests ``client`` made under the limit ``name`` in the minute numbered ``minute``
    (minutes since the epoch)."""

    __tablename__ = "rate_windows"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    client: Mapped[str] = mapped_column(String(100), primary_key=True)
    minute: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    requests: Mapped[int] = mapped_column(Integer)


def add(database: Database, name: str, client: str, minute: int, requests: int = 1) -> int:
    """Count ``requests`` more from ``client`` in ``minute``; that minute's count after."""
    with database.transaction() as session:
        dialect = session.get_bind().dialect.name
        maker = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = maker(RateWindow).values(
            name=name, client=client[:100], minute=minute, requests=requests
        )
        upsert = statement.on_conflict_do_update(
            index_elements=["name", "client", "minute"],
            set_={"requests": RateWindow.requests + statement.excluded.requests},
        ).returning(RateWindow.requests)
        count = session.scalar(upsert)
    assert count is not None
    return int(count)


def purge(database: Database, before: int) -> int:
    """Delete every minute numbered below ``before``; how many rows went."""
    with database.transaction() as session:
        result = session.execute(
            delete(RateWindow)
            .where(RateWindow.minute < before)
            .execution_options(synchronize_session=False)
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
