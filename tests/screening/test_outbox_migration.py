"""Revision 0018 gives the screening outbox's rows their item's service (drains take the
services in turn, the door counts each one's backlog): rows stored before it get theirs from
the item, and the downgrade drops the column again."""

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
ITEMS = sa.table(
    "content_items",
    *(sa.column(name) for name in ("content_id", "kind", "text", "verdict", "ruleset")),
    sa.column("log_index"),
    sa.column("id", sa.Uuid()),
    sa.column("service_id", sa.Uuid()),
    sa.column("created_at", UTCDateTime()),
)
OUTBOX = sa.table(
    "screening_outbox",
    sa.column("item_id", sa.Uuid()),
    sa.column("created_at", UTCDateTime()),
    sa.column("context", sa.JSON()),
    sa.column("attempts"),
)


def test_rows_stored_before_get_their_item_s_service_and_back(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    migrate.upgrade(engine, "0017")
    now, owners = utcnow(), {}
    with engine.begin() as connection:
        for name in ("chat", "storage"):
            service_id = uuid.uuid4()
            connection.execute(sa.insert(SERVICES).values(id=service_id, name=name, created_at=now))
            for n in range(2):
                item_id = uuid.uuid4()
                owners[item_id] = service_id
                connection.execute(
                    sa.insert(ITEMS).values(
                        id=item_id,
                        service_id=service_id,
                        content_id=f"{name}-{n}",
                        kind="text",
                        text="online casino",
                        verdict="block",
                        ruleset="0" * 64,
                        log_index=-1,
                        created_at=now,
                    )
                )
                values = {"item_id": item_id, "created_at": now, "context": {}, "attempts": 0}
                connection.execute(sa.insert(OUTBOX).values(**values))
    migrate.upgrade(engine)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT item_id, service_id FROM screening_outbox"))
        found = {uuid.UUID(str(item)): uuid.UUID(str(service)) for item, service in rows}
    assert found == owners
    migrate.downgrade(engine, "0017")
    columns = {c["name"] for c in sa.inspect(engine).get_columns("screening_outbox")}
    assert "service_id" not in columns
    engine.dispose()
