"""Revision 0012 gives cases and notices stored before it the one spelling of an operator's
category (``tos.spam``, not ``tos:tos.spam``), so the queue filter and the decision endpoints
find them; pack categories are left alone, and the downgrade restores the old spelling."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa

from trustdesk.db import migrate
from trustdesk.db.base import UTCDateTime, utcnow
from trustdesk.db.engine import make_engine

SERVICES = sa.table(
    "services",
    sa.column("id", sa.Uuid()),
    sa.column("name"),
    sa.column("created_at", UTCDateTime()),
)
CASES = sa.table(
    "cases",
    *(sa.column(name) for name in ("target", "language", "status", "category", "priority")),
    *(sa.column(name) for name in ("trusted", "automated_detection", "log_index")),
    sa.column("id", sa.Uuid()),
    sa.column("service_id", sa.Uuid()),
    sa.column("opened_at", UTCDateTime()),
    sa.column("updated_at", UTCDateTime()),
)
NOTICES = sa.table(
    "notices",
    *(sa.column(name) for name in ("category", "explanation", "good_faith", "token_digest")),
    sa.column("log_index"),
    sa.column("id", sa.Uuid()),
    sa.column("service_id", sa.Uuid()),
    sa.column("case_id", sa.Uuid()),
    sa.column("received_at", UTCDateTime()),
)
STORED = ["tos:tos.spam", "cn-xj-2014:art6.8", "tos:tos.tos:x", "eu-dsa:scams_and_fraud"]
RESPELLED = ["tos.spam", "cn-xj-2014:art6.8", "tos.tos:x", "eu-dsa:scams_and_fraud"]


def _categories(engine: sa.Engine, table: sa.TableClause) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.category, table.c.log_index))
        return [category for category, _ in sorted(rows, key=lambda row: row[1])]


def test_stored_operator_categories_get_the_one_spelling_and_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cases.db'}")
    migrate.upgrade(engine, "0011")
    service_id, now = uuid.uuid4(), utcnow()
    with engine.begin() as connection:
        connection.execute(sa.insert(SERVICES).values(id=service_id, name="chat", created_at=now))
        for index, category in enumerate(STORED):
            case_id = uuid.uuid4()
            connection.execute(
                sa.insert(CASES).values(
                    id=case_id,
                    service_id=service_id,
                    target=f"{index:064x}",
                    language="en",
                    status="open",
                    category=category,
                    priority=10,
                    trusted=False,
                    automated_detection=False,
                    log_index=index,
                    opened_at=now,
                    updated_at=now,
                )
            )
            connection.execute(
                sa.insert(NOTICES).values(
                    id=uuid.uuid4(),
                    service_id=service_id,
                    case_id=case_id,
                    received_at=now,
                    category=category,
                    explanation="placeholder",
                    good_faith=True,
                    token_digest=f"{index:064x}",
                    log_index=index,
                )
            )
    migrate.upgrade(engine, "0012")
    assert _categories(engine, CASES) == RESPELLED
    assert _categories(engine, NOTICES) == RESPELLED
    migrate.downgrade(engine, "0011")
    assert _categories(engine, CASES) == STORED
    assert _categories(engine, NOTICES) == STORED
    engine.dispose()
