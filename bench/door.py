"""The durable half of the screening door: what a verdict costs the database.

Per blocked item and per clean item: SQL statements, record-log appends (statements that
insert entries: one per append call), entries appended, and right-edge reads (statements
that read the log's tree nodes), on the request path and in the follow-up; and the
follow-up drain's throughput (items/s) and cost per item (µs of wall and of this process's
CPU), with the desk's listener (a drain's batch as a whole where the code has that). On
SQLite (a file) and, when ``TRUSTDESK_TEST_POSTGRES_URL`` is set (``scripts/with-postgres``),
on PostgreSQL in a database of its own.

Works on the code before the outbox (``record`` with a listener, all in one transaction) and
after it (``record`` writes the item and its outbox row; ``outbox.drain`` follows up), so
the same figures compare the two. ``BENCH_DOOR_ITEMS`` sets the items per figure (200).
"""

from __future__ import annotations

import importlib
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bench.databases import scratch_database
from trustdesk.cases import screened as cases_screened
from trustdesk.compliance import service as compliance
from trustdesk.crypto.logdigest import LogDigestKey
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.policy.service import load_registry
from trustdesk.policy.vocabulary import ServiceType
from trustdesk.records import service as records
from trustdesk.screening import service as screening
from trustdesk.screening.runtime import as_archive, build_screener, source_from_archive

RULES = """\
rules:
  - id: gambling-ads
    category: art6.8
    action: block
    terms: [赌场, casino]
"""
BLOCKED = "来玩网上赌场, online casino tonight"
CLEAN = "see you at the meeting, 今天天气很好"


class Statements:
    """Counts the statements an engine runs, by kind."""

    def __init__(self) -> None:
        self.total = self.log_inserts = self.node_reads = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.total += 1
        lowered = statement.lower()
        if lowered.startswith("insert into log_entries"):
            self.log_inserts += 1
        if lowered.startswith("select") and "from log_nodes" in lowered:
            self.node_reads += 1

    def reset(self) -> None:
        self.total = self.log_inserts = self.node_reads = 0


class Door:
    """One service with a blocking rule, and the two code paths (before and after)."""

    def __init__(self, database: Database) -> None:
        migrate.upgrade(database.engine)
        records.use_digest_key(database, LogDigestKey(bytes(range(32))))
        self.database = database
        registry = load_registry([])
        archive = as_archive(RULES.encode(), "rules.yaml")
        source = source_from_archive(archive, registry.all())
        with database.session() as session:
            created = compliance.create_service(
                session,
                registry,
                name="door",
                types=(ServiceType.ONLINE_CHAT,),
                packs=("cn-xj-2014", "eu-dsa"),
            )
            self.service_id = created.service.id
            self.packs = compliance.packs_for(session, registry, self.service_id)
            screening.deploy(session, self.service_id, source, archive, packs=self.packs, by="b")
        self.screener = build_screener(source, None)
        try:
            self.outbox: Any = importlib.import_module("trustdesk.screening.outbox")
            self.tally: Any = importlib.import_module("trustdesk.screening.tally").Tally()
        except ModuleNotFoundError:  # the code before the outbox
            self.outbox = self.tally = None

    def listener(self, session: Session, screened: screening.Screened) -> None:
        cases_screened.on_screened(session, self.packs, screened)

    def cases(self) -> Any:
        """The desk's listener: a drain's batch as a whole where the code has that."""
        whole = getattr(cases_screened, "CasesListener", None)
        return self.listener if whole is None else whole(lambda _s, _id: self.packs)

    def screen(self, session: Session, n: int, text_: str) -> None:
        item = screening.ContentIn.of(f"m-{uuid.uuid4().hex[:8]}-{n}", text_, f"acct-{n % 7}")
        verdict = self.screener.screen(item.text)
        if self.outbox is None:  # the code before the outbox: record took a listener
            record: Any = screening.record
            record(session, self.service_id, item, verdict, context={}, listener=self.listener)
        else:
            screening.record(session, self.service_id, item, verdict, context={}, tally=self.tally)

    def follow_up(self, session: Session, batch: int) -> int:
        if self.outbox is None:
            return 0
        done, listener = 0, self.cases()
        while True:
            drained = len(self.outbox.drain(session, listener, batch).done)
            done += drained
            if drained < batch:
                return done

    def flush(self, session: Session) -> None:
        if self.tally is not None:
            self.tally.flush(session)


def _per_item(counter: Statements, items: int, size: int) -> dict[str, float]:
    return {
        "statements": round(counter.total / items, 2),
        "log_append_statements": round(counter.log_inserts / items, 2),
        "log_entries": round(size / items, 2),
        "right_edge_reads": round(counter.node_reads / items, 3),
    }


def _measure(door: Door, items: int, text_: str, batch: int) -> dict[str, object]:
    counter = Statements()
    event.listen(door.database.engine, "before_cursor_execute", counter)
    try:
        with door.database.session() as session:
            before = records.size(session)
            counter.reset()
            start = time.perf_counter()
            for n in range(items):
                door.screen(session, n, text_)
            answered = time.perf_counter() - start
            request = _per_item(counter, items, records.size(session) - before)
            request["total_statements"] = counter.total
            counter.reset()
            middle = records.size(session)
            start, cpu = time.perf_counter(), time.process_time()
            followed = door.follow_up(session, batch)
            door.flush(session)
            follow, follow_cpu = time.perf_counter() - start, time.process_time() - cpu
            later = _per_item(counter, items, records.size(session) - middle)
    finally:
        event.remove(door.database.engine, "before_cursor_execute", counter)
    return {
        "items": items,
        "request_path": request,
        "follow_up": later,
        "request_path_items_per_second": round(items / answered, 1),
        "follow_up_items_per_second": round(followed / follow, 1) if followed else None,
        # wall and this process's CPU (not the database server's) per item followed up
        "follow_up_us_per_item": round(1e6 * follow / followed) if followed else None,
        "follow_up_cpu_us_per_item": round(1e6 * follow_cpu / followed) if followed else None,
    }


def _backend(backend: str, items: int) -> dict[str, object]:
    with scratch_database(backend) as database:
        door = Door(database)
        with database.session() as session:  # warm up: compile, first log entries
            for n in range(5):
                door.screen(session, n, BLOCKED)
            door.follow_up(session, 100)
        return {
            "code": "before (one transaction per item)" if door.outbox is None else "outbox",
            "blocked": _measure(door, items, BLOCKED, 100),
            "clean": _measure(door, items, CLEAN, 100),
        }


def run() -> dict[str, object]:
    items = int(os.environ.get("BENCH_DOOR_ITEMS", "200"))
    backends: list[str] = ["sqlite"]
    if os.environ.get("TRUSTDESK_TEST_POSTGRES_URL"):
        backends.append("postgresql")
    figures: dict[str, object] = {"note": "shared, busy 2-core machine; sequential, no HTTP"}
    for backend in backends:
        figures[backend] = _backend(backend, items)
    return figures


def main(run_: Callable[[], dict[str, object]] = run) -> None:
    import json  # noqa: PLC0415  (python -m bench.door prints without writing)

    print(json.dumps(run_(), indent=2))


if __name__ == "__main__":
    main()
