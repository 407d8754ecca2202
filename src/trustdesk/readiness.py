"""Liveness and readiness: what ``GET /healthz`` and ``GET /readyz`` answer (the routes are in
:mod:`trustdesk.app`).

``/healthz`` says the process lives and answers (it asks nothing of anyone: a supervisor
restarts a process that stops answering it, never one whose database is down). ``/readyz``
says whether this process can serve, each check named in the answer, so that a load
balancer sends traffic only to a ready process and an operator sees what is wrong:

- ``database``: it answers a query;
- ``schema``: its migrations are at this code's head (``trustdesk db upgrade``);
- ``rule_sets``: the services' active rule sets were loaded before serving;
- ``bank_indexes``: this process holds the banks' indexes (loaded at start, refreshed since),
  or why not (the door then screens text by its rules alone);
- ``keys``: the key files the settings name are there and readable;
- ``checkpoint_signer`` and ``delivery_worker``: the loop is alive in some process sharing
  the database (its lease is held and renewed), or ``off`` where the settings turn it off.

The answer is 200 when every check passes, else a 503 problem (code ``not_ready``); either
way the body holds ``{"ready": true | false, "failing": [names], "checks": {name: {"ok",
"detail"}}}``.
Details name no path, key or address: the endpoints answer anyone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from trustdesk.db import leases, migrate
from trustdesk.db.engine import Database, read_transaction
from trustdesk.settings import Settings


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    detail: str


def _database(database: Database) -> tuple[Check, Check]:
    """Whether the database answers, and whether its schema is at this code's head: one
    short read (the session's connection, which a test's database shares)."""
    head = migrate.head_revision()
    try:
        with database.session() as session, read_transaction(session):
            session.execute(text("SELECT 1"))
            current = migrate.current_revision(session.connection())
    except SQLAlchemyError as exc:
        said = f"the database does not answer ({exc.__class__.__name__})"
        return Check(False, said), Check(False, "no database")
    if current != head:
        return Check(True, "answers"), Check(
            False, f"at {current or 'nothing'}, this code needs {head}"
        )
    return Check(True, "answers"), Check(True, f"at {head}")


def _keys(settings: Settings) -> Check:
    paths = {
        "key ring": settings.keyring_path,
        "log signing key": settings.log_signing_key_path,
        "blind index key": settings.blind_index_key_path,
        "log digest key": settings.log_digest_key_path,
    }
    unreadable = [name for name, path in paths.items() if not os.access(path, os.R_OK)]
    if unreadable:
        return Check(False, f"not readable: {', '.join(unreadable)}")
    return Check(True, "readable")


def _loop(database: Database, lease: str | None) -> Check:
    if lease is None:
        return Check(True, "off")
    try:
        holder = leases.lease_holder(database, lease)
    except SQLAlchemyError as exc:
        return Check(False, f"its lease cannot be read ({exc.__class__.__name__})")
    if holder is None:
        return Check(False, "no process holds its lease (none runs it, or its holder died)")
    return Check(True, "running")


def readiness(
    database: Database,
    settings: Settings,
    *,
    rule_sets: str | None,
    bank_indexes: str | None = None,
    loops: Mapping[str, str | None],
) -> dict[str, Check]:
    """Every check, by name. ``rule_sets``: None once loaded, else why not; ``loops``: the
    lease of each loop, by check name (None: turned off); ``bank_indexes``: None once
    loaded, else why not."""
    checks = dict(zip(("database", "schema"), _database(database), strict=True))
    reachable, unreachable = checks["database"].ok, Check(False, "no database")
    checks["rule_sets"] = Check(rule_sets is None, rule_sets or "loaded")
    checks["bank_indexes"] = Check(bank_indexes is None, bank_indexes or "loaded")
    checks["keys"] = _keys(settings)
    for name, lease in loops.items():
        checks[name] = _loop(database, lease) if reachable else unreachable
    return checks


def answer(checks: Mapping[str, Check]) -> tuple[int, dict[str, object]]:
    """The status code and body of ``/readyz`` (not ready: a problem document, code
    ``not_ready``, with the same members)."""
    failing = [name for name, check in checks.items() if not check.ok]
    body: dict[str, object] = {
        "ready": not failing,
        "failing": failing,
        "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
    }
    if not failing:
        return 200, body
    problem = {"title": "Not ready", "status": 503, "code": "not_ready"}
    return 503, problem | {"detail": f"failing: {', '.join(failing)}"} | body
