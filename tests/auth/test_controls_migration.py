"""Revision 0008 learns who controls whom from the record log: an approver created or reset
by one administrator before the upgrade stays tied to them after it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import sqlalchemy as sa

from trustdesk.auth import service as auth
from trustdesk.db import migrate
from trustdesk.db.base import UTCDateTime, utcnow
from trustdesk.db.engine import Database, make_engine

USERS = sa.table(
    "users",
    sa.column("id", sa.Uuid()),
    sa.column("username", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("password_hash", sa.String()),
    sa.column("language", sa.String()),
    sa.column("active", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
)
ROLES = sa.table("user_roles", sa.column("user_id", sa.Uuid()), sa.column("role", sa.String()))
ENTRIES = sa.table(
    "log_entries",
    sa.column("index", sa.BigInteger()),
    sa.column("type", sa.String()),
    sa.column("service_id", sa.Uuid()),
    sa.column("recorded_at", UTCDateTime()),
    sa.column("leaf", sa.LargeBinary()),
    sa.column("leaf_hash", sa.LargeBinary()),
)


def test_the_upgrade_fills_control_from_the_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine, "0007")
    admin, other, approver, reset = (uuid.uuid4() for _ in range(4))
    people = {admin: "admin", other: "other", approver: "approver", reset: "reset"}
    events = [
        ("auth:user:created", {"user_id": str(admin), "roles": ["admin"]}),  # by the CLI
        ("auth:user:created", {"user_id": str(other), "roles": ["admin"]}),
        (
            "auth:user:created",
            {"user_id": str(approver), "roles": ["disclosure_approver"], "by": str(admin)},
        ),
        ("auth:user:created", {"user_id": str(reset), "roles": ["moderator"]}),
        ("auth:user:password_set", {"user_id": str(reset), "by": str(admin)}),
        (
            "auth:user:roles_changed",
            {"user_id": str(reset), "roles": ["disclosure_approver"], "by": str(other)},
        ),
        ("auth:user:password_set", {"user_id": str(admin), "by": str(admin)}),  # oneself
    ]
    with engine.begin() as connection:
        for user_id, name in people.items():
            connection.execute(
                sa.insert(USERS).values(
                    id=user_id,
                    username=name,
                    display_name=name,
                    password_hash="x",
                    language="en",
                    active=True,
                    created_at=utcnow(),
                )
            )
        connection.execute(sa.insert(ROLES).values(user_id=approver, role="disclosure_approver"))
        for index, (type_, data) in enumerate(events):
            leaf = {"type": type_, "time": "2026-01-01T00:00:00.000000Z", "service": None}
            connection.execute(
                sa.insert(ENTRIES).values(
                    index=index,
                    type=type_,
                    service_id=None,
                    recorded_at=utcnow(),
                    leaf=json.dumps({**leaf, "data": data}).encode(),
                    leaf_hash=bytes(32),
                )
            )
    migrate.upgrade(engine)
    with Database(engine) as database, database.session() as session:
        found = auth.circles(session, people)
        assert found[approver] == {approver, admin}
        assert found[reset] == {reset, admin, other}
        assert found[admin] == {admin}
        assert found[other] == {other}
        # a role held before the upgrade stays in force
        held = auth.get_user(session, approver)
        assert held.roles == ("disclosure_approver",)
        assert held.pending_roles == ()
