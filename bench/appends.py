"""Append microbench: microseconds per log entry, the way the cases listener appends.

Each entry is one :func:`trustdesk.records.service.append` call of a typical case event
(case opened, decision made, action taken, statement, subject warned: keyed digests of
subjects and targets, uuids, short lists). Three shapes, on an SQLite file and on
PostgreSQL (``TRUSTDESK_TEST_POSTGRES_URL``):

- ``one_transaction``: ``BATCH`` appends in one transaction (a drain of the outbox);
- ``one_transaction_interleaved``: the same with one ordinary query of another table
  between appends, as the listener makes (the cost any per-statement hook adds);
- ``one_per_transaction``: ``SINGLES`` appends, each in its own transaction;
- ``the_interleaved_query_alone``: the query of the interleaved shape without appends.

Figures: wall and client CPU microseconds per entry (best of ``ROUNDS``). The CPU figure
(this process: trustdesk, SQLAlchemy, the driver; SQLite's work too, not PostgreSQL's
server) is the steadier one on a shared, busy machine; compare before and after taken
side by side.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.databases import scratch_database
from trustdesk.cases.models import Case
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db import migrate
from trustdesk.db.engine import Database, transaction
from trustdesk.records import leaf
from trustdesk.records import service as records
from trustdesk.records.events import EventType

BATCH = 600  # about a drain of 100 blocked items (5.9 entries each)
SINGLES = 200
ROUNDS = 3

Maker = Callable[[int], tuple[EventType, dict[str, object]]]


def _kinds(service: uuid.UUID) -> list[Maker]:
    case, decision = str(uuid.uuid4()), str(uuid.uuid4())

    def opened(n: int) -> tuple[EventType, dict[str, object]]:
        target = leaf.keyed(f"content-{n}")
        data = {"case_id": case, "target_digest": target, "category": "art6.8", "trusted": False}
        return EventType.CASES_CASE_OPENED, {**data, "automated": True}

    def decided(n: int) -> tuple[EventType, dict[str, object]]:
        return EventType.CASES_DECISION_MADE, {
            "decision_id": decision,
            "case_id": case,
            "category": "art6.8",
            "actions": ["delete"],
            "automated_decision": "fully",
            "automated_detection": True,
            "by": None,
            "appeal_of": None,
            "subject_digest": leaf.keyed(f"subject-{n % 97}"),
        }

    def warned(n: int) -> tuple[EventType, dict[str, object]]:
        data = {"decision_id": decision, "subject_digest": leaf.keyed(f"subject-{n % 97}")}
        return EventType.CASES_SUBJECT_WARNED, data

    return [opened, decided, warned]


def _appender(session: Session, service: uuid.UUID) -> Callable[[int], None]:
    kinds = _kinds(service)

    def one(n: int) -> None:
        type_, data = kinds[n % len(kinds)](n)
        records.append(session, type_, service_id=service, data=data)

    return one


def _best(measure: Callable[[], None], entries: int) -> tuple[float, float]:
    """Wall and CPU microseconds per entry, each the best of ``ROUNDS``."""
    walls, cpus = [], []
    for _ in range(ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        measure()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls) / entries * 1e6, min(cpus) / entries * 1e6


def _figures(database: Database) -> dict[str, float]:
    migrate.upgrade(database.engine)
    records.use_digest_key(database, LogDigestKey(bytes(range(32))))
    service = uuid.uuid4()
    other = select(Case.id).where(Case.id == uuid.uuid4())  # a query of another table
    with database.session() as session:
        one = _appender(session, service)
        with transaction(session):
            one(0)  # a log with a right edge, the key opened

        def batch(interleave: bool) -> None:
            with transaction(session):
                for n in range(BATCH):
                    one(n)
                    if interleave:
                        session.execute(other)

        def queries() -> None:
            with transaction(session):
                for _ in range(BATCH):
                    session.execute(other)

        def singles() -> None:
            for n in range(SINGLES):
                with transaction(session):
                    one(n)

        shapes = {
            "one_transaction": (lambda: batch(interleave=False), BATCH),
            "one_transaction_interleaved": (lambda: batch(interleave=True), BATCH),
            "one_per_transaction": (singles, SINGLES),
            "the_interleaved_query_alone": (queries, BATCH),  # to subtract
        }
        figures: dict[str, float] = {}
        for name, (measure, entries) in shapes.items():
            wall, cpu = _best(measure, entries)
            figures[f"{name}_us_per_entry"] = wall
            figures[f"{name}_cpu_us_per_entry"] = cpu
    return {name: round(value, 1) for name, value in figures.items()}


def run() -> dict[str, object]:
    backends = ["sqlite"]
    if os.environ.get("TRUSTDESK_TEST_POSTGRES_URL"):
        backends.append("postgresql")
    figures: dict[str, object] = {"batch": BATCH, "singles": SINGLES, "rounds": ROUNDS}
    for backend in backends:
        with scratch_database(backend) as database:
            figures[backend] = _figures(database)
    return figures
