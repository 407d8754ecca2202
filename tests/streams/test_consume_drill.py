"""Drills of ``trustdesk consume`` on a real database (SQLite file, PostgreSQL) and a real
redis-server: a consumer killed mid-stream (SIGKILL) and another started loses nothing and
acts on nothing twice, claiming what the dead ones left pending; a database that is down
or locked stops the reading, acknowledges nothing, and the consumer resumes after it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from trustdesk import demo
from trustdesk.cases.models import Case
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.screening.models import ContentItem
from trustdesk.settings import Settings
from trustdesk.streams import service as use_cases
from trustdesk.streams.consumer import Consumer, Flow
from trustdesk.streams.events import Event, read_event
from trustdesk.streams.redis_source import RedisSource
from trustdesk.wiring import Desk, build_desk

from streamfeed import DEAD, GROUP, OUTPUT, STREAM, add, event, pending, verdicts
from support import TemporaryPostgres, clean_environment

SUBJECT = demo.IDENTITIES[0][0]  # verified: the real-name gate opens
TEXTS = ("online casino tonight", "see you at the meeting", "稳赚不赔的投资机会", "周末去爬山吗")
EVENTS = 160
GHOSTED = 5  # events a consumer that never comes back read first


@contextmanager
def _prepared(folder: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    """The database at ``url`` migrated, with the demo's services, rules and identities;
    keys and cache under ``folder/var`` (where a command run in ``folder`` finds them)."""
    monkeypatch.chdir(folder)
    for name in [n for n in __import__("os").environ if n.startswith("TRUSTDESK_")]:
        monkeypatch.delenv(name)
    database = Database.from_url(url)
    migrate.upgrade(database.engine)
    desk = build_desk(Settings(_env_file=None, database_url=url), database)
    demo.load(database, desk.packs, desk.vault)
    try:
        yield desk
    finally:
        database.dispose()


def _service(desk: Desk) -> uuid.UUID:
    with desk.database.session() as session:
        chat = compliance.find_service_by_name(session, demo.SERVICES[0].name)
    assert chat is not None
    return chat.id


def _start(
    folder: Path, url: str, redis_url: str, service: uuid.UUID, name: str, *, claim_after: str
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "trustdesk", "consume", "--db", url]
    command += ["--service", str(service), "--redis", redis_url, "--stream", STREAM]
    command += ["--group", GROUP, "--consumer", name, "--batch", "5", "--max-in-flight", "10"]
    env = clean_environment(TRUSTDESK_STREAM_CLAIM_IDLE_SECONDS=claim_after, COLUMNS="200")
    with (folder / f"consumer-{name}.log").open("w", encoding="utf-8") as log:  # the child's
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=folder, env=env
        )
    STARTED.append(process)
    return process


STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _no_consumer_left() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def _wait_for(
    condition: object, what: str, process: subprocess.Popen[str], seconds: float = 120
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if process.poll() is not None:
            pytest.fail(f"the consumer exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s")
        time.sleep(0.1)


def _kill_drill(folder: Path, url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    with _prepared(folder, url, monkeypatch) as desk:
        service = _service(desk)
        client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        sent = {
            add(client, event(f"e{n}", TEXTS[n % len(TEXTS)], SUBJECT)): f"e{n}"
            for n in range(EVENTS)
        }
        client.xreadgroup(GROUP, "ghost", {STREAM: ">"}, count=GHOSTED)  # and never acks
        first = _start(
            folder, url, redis_url, service, "first", claim_after="3600"
        )  # claims nothing
        _wait_for(lambda: client.xlen(OUTPUT) >= 30, "30 verdicts", first)
        first.kill()  # SIGKILL: mid-stream, nothing flushed, a batch in flight
        first.wait(timeout=30)
        left = pending(client)  # the ghost's, and the batch the killed consumer held
        assert left >= GHOSTED
        second = _start(folder, url, redis_url, service, "second", claim_after="1")
        # Every event answered and acknowledged: the killed consumer's batch may have had its
        # verdicts written before the kill, and is claimed once idle for claim_after.
        done = lambda: (  # noqa: E731
            {source for source, _ in verdicts(client)} >= set(sent) and pending(client) == 0
        )
        _wait_for(done, "verdict for every event, all acknowledged", second)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=60) == 0
        said = (folder / "consumer-second.log").read_text(encoding="utf-8")
        assert "consumed " in said and "events/s" in said, said
        claimed = int(said.split("claimed ")[1].split(")")[0])
        assert claimed >= left, said  # the ghost's events, and the killed consumer's

        assert pending(client) == 0
        out = verdicts(client)
        assert not client.xlen(DEAD)
        by_content: dict[str, list[dict[str, object]]] = {}
        for source, verdict in out:
            assert verdict["id"] == sent[source]
            by_content.setdefault(sent[source], []).append(verdict)
        with desk.database.session() as session, session.begin():
            for content_id, answers in by_content.items():
                assert all(a == answers[0] for a in answers), content_id  # one verdict each
                stored = session.scalar(
                    select(func.count())
                    .select_from(ContentItem)
                    .where(ContentItem.content_id == content_id)
                )
                cases = session.scalar(
                    select(func.count()).select_from(Case).where(Case.content_id == content_id)
                )
                acted = answers[0]["verdict"] != "allow"  # held or blocked: a case
                expected = (int(answers[0]["item_id"] is not None), int(acted))
                assert (stored, cases) == expected, (content_id, answers[0])
    client.close()


def test_a_killed_consumer_loses_nothing_and_acts_on_nothing_twice_sqlite(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kill_drill(tmp_path, f"sqlite:///{tmp_path / 'var' / 'consume.db'}", redis_url, monkeypatch)


@pytest.mark.postgres
def test_a_killed_consumer_loses_nothing_and_acts_on_nothing_twice_postgresql(
    tmp_path: Path,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    temporary_postgres: TemporaryPostgres,
) -> None:
    _kill_drill(tmp_path, temporary_postgres.url, redis_url, monkeypatch)


def _in_process(desk: Desk, client: redis.Redis, service: uuid.UUID) -> Consumer:
    source = RedisSource(client, STREAM, GROUP, "one", output=OUTPUT, dead_letter=DEAD)
    source.ensure_group()
    session = desk.database.session()
    screens = use_cases.Screens(
        service, source.name, desk.publish_gate, desk.screeners, desk.screening_listener, 100
    )
    flow = Flow(batch=4, max_in_flight=4, block_ms=0)
    return Consumer(
        source,
        lambda events: use_cases.act_on(session, screens, events),
        flow,
        sleep=lambda _s: None,
    )


def _unavailable_drill(desk: Desk, client: redis.Redis, outage: object) -> None:
    """While ``outage`` holds, the consumer answers and acknowledges nothing and reads
    nothing new; afterwards it answers everything."""
    service = _service(desk)
    consumer = _in_process(desk, client, service)
    for n in range(10):
        add(client, event(f"d{n}", TEXTS[n % len(TEXTS)], SUBJECT))
    with outage:  # type: ignore[attr-defined]
        consumer.step()
        assert consumer.stalled and consumer.tally.stalls == 1
        assert pending(client) == 4  # the first batch, read, unacknowledged
        consumer.step()  # still down: the same batch is tried again, nothing new read
        assert consumer.tally.stalls == 2
        assert pending(client) == 4 and len(consumer.in_flight) == 4
        assert client.xlen(OUTPUT) == 0
    for _ in range(10):
        consumer.step()
    assert not consumer.stalled
    assert [v["id"] for _, v in verdicts(client)] == [f"d{n}" for n in range(10)]
    assert pending(client) == 0


@contextmanager
def _sqlite_locked(path: Path) -> Iterator[None]:
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock: the consumer waits out its busy timeout
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def _postgres_down(postgres: TemporaryPostgres) -> Iterator[None]:
    with postgres.admin.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
        admin.execute(text(f'ALTER DATABASE "{postgres.name}" ALLOW_CONNECTIONS false'))
        admin.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
            {"name": postgres.name},
        )
        try:
            yield
        finally:
            admin.execute(text(f'ALTER DATABASE "{postgres.name}" ALLOW_CONNECTIONS true'))


def test_a_locked_sqlite_database_holds_the_events_unacknowledged(
    tmp_path: Path, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "var" / "consume.db"
    with _prepared(tmp_path, f"sqlite:///{path}", monkeypatch) as desk:
        _unavailable_drill(desk, redis_client, _sqlite_locked(path))


@pytest.mark.postgres
def test_a_postgresql_database_that_is_down_holds_the_events_unacknowledged(
    tmp_path: Path,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
    temporary_postgres: TemporaryPostgres,
) -> None:
    with _prepared(tmp_path, temporary_postgres.url, monkeypatch) as desk:
        _unavailable_drill(desk, redis_client, _postgres_down(temporary_postgres))


@pytest.mark.postgres
def test_two_consumers_racing_on_one_event_act_once_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temporary_postgres: TemporaryPostgres
) -> None:
    """A claims an event, B (it took A for dead) gets it too: B reads no receipt while A's
    transaction is open, waits on A's locks, then loses on the receipt's key and answers
    A's verdict; one stored item, one case."""
    with _prepared(tmp_path, temporary_postgres.url, monkeypatch) as desk:
        service = _service(desk)
        item = read_event(event("race-1", TEXTS[0], SUBJECT), 4096)
        assert isinstance(item, Event)
        a_stored, b_waits = threading.Event(), threading.Event()

        def pausing(session: Session) -> None:  # A has stored the item, not yet committed
            if not a_stored.is_set():
                a_stored.set()
                assert b_waits.wait(timeout=60), "B never waited on A"  # then A commits

        def screens() -> use_cases.Screens:
            gate, registry, listener = desk.publish_gate, desk.screeners, desk.screening_listener
            return use_cases.Screens(service, "redis:posts", gate, registry, listener, 100)

        answers: dict[str, list[use_cases.Answer]] = {}

        def consume(name: str, pause: bool) -> None:
            with desk.database.session() as session:
                if pause:
                    sa_event.listen(session, "before_commit", pausing)
                answers[name] = use_cases.act_on(session, screens(), [item])

        first = threading.Thread(target=consume, args=("a", True))
        first.start()
        assert a_stored.wait(timeout=60), "A never stored the item"  # its transaction open
        second = threading.Thread(target=consume, args=("b", False))
        second.start()
        deadline = time.monotonic() + 60
        while not _lock_waiters(temporary_postgres):  # B read no receipt, and waits on A
            assert second.is_alive() and time.monotonic() < deadline, answers
            time.sleep(0.05)
        b_waits.set()
        first.join(timeout=60)
        second.join(timeout=60)
        (a,), (b,) = answers["a"], answers["b"]
        assert not a.replayed and b.replayed
        assert a.body == b.body and a.verdict == "block"
        with desk.database.session() as session, session.begin():
            stored = select(func.count()).select_from(ContentItem)
            assert session.scalar(stored.where(ContentItem.content_id == "race-1")) == 1
            cases = select(func.count()).select_from(Case).where(Case.content_id == "race-1")
            assert session.scalar(cases) == 1


def _lock_waiters(postgres: TemporaryPostgres) -> int:
    with postgres.admin.connect() as admin:
        return int(
            admin.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                    "AND wait_event_type = 'Lock'"
                ),
                {"db": postgres.name},
            ).scalar()
            or 0
        )
