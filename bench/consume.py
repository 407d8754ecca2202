"""Consumer figures: ``trustdesk consume``'s loop (the Redis source, the screen use case,
receipts) against a local redis-server, on an SQLite file with the demo data, and on
PostgreSQL too under ``scripts/with-postgres``.

Two short runs of three rounds each: clean events only, and a mix with one event in ten
blocked (stored, logged, a case opened). ``BENCH_CONSUME_EVENTS`` scales them (default
2,000 clean events a round, a quarter of that mixed). Figures from a shared, busy
2-core machine are rough.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis

from bench.databases import scratch_url
from trustdesk import demo
from trustdesk.compliance import service as compliance
from trustdesk.db import migrate
from trustdesk.db.engine import Database
from trustdesk.settings import Settings
from trustdesk.streams import service as streams
from trustdesk.streams.consumer import Consumer, Flow
from trustdesk.streams.redis_source import RedisSource
from trustdesk.wiring import Desk, build_desk

CLEAN = ("今天天气很好, 周末去爬山吗", "see you at the meeting tomorrow", "明天下午三点开会")
BLOCKED = "来玩网上赌场, 百家乐代理"
SUBJECT = demo.IDENTITIES[0][0]
TIMEOUT_SECONDS = 120.0
ROUNDS = 3  # min, median and max: the machine is shared


def _redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder)]
    process = subprocess.Popen(  # noqa: S603  (Debian's redis-server, our own arguments)
        [*command, "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(300):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()
    return process, url


def _feed(client: redis.Redis, stream: str, count: int, blocked_every: int | None) -> None:
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        text = BLOCKED if blocked_every and n % blocked_every == 0 else CLEAN[n % len(CLEAN)]
        body = {"content": {"id": f"{stream}-{n}", "text": text}, "subject": SUBJECT}
        pipe.xadd(stream, {"event": json.dumps(body, ensure_ascii=False)})
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()


def _consume(
    desk: Desk, service: uuid.UUID, client: redis.Redis, stream: str, count: int
) -> dict[str, object]:
    source = RedisSource(
        client, stream, "bench", "one", output=f"{stream}:v", dead_letter=f"{stream}:d"
    )
    source.ensure_group()
    with desk.database.session() as session:
        screens = streams.Screens(
            service, source.name, desk.publish_gate, desk.screeners, desk.screening_listener, 100
        )
        streams.warm(session, screens)
        consumer = Consumer(
            source,
            lambda events: streams.act_on(session, screens, events),
            Flow(batch=100, max_in_flight=1000, block_ms=100),
        )
        stop = threading.Event()
        start = time.perf_counter()
        while consumer.tally.done < count and time.perf_counter() - start < TIMEOUT_SECONDS:
            consumer.step()
        elapsed = time.perf_counter() - start
        stop.set()
    tally = consumer.tally
    return {
        "events": tally.done,
        "seconds": round(elapsed, 2),
        "events_per_second": round(tally.done / elapsed, 1),
        "verdicts": dict(tally.verdicts),
        "dead_lettered": tally.dead,
    }


def _measure(db_url: str, redis_url: str, clean: int, mixed: int) -> dict[str, object]:
    """Both runs against the database at ``db_url`` (migrated and given the demo here)."""
    figures: dict[str, object] = {}
    database = Database.from_url(db_url)
    migrate.upgrade(database.engine)
    desk = build_desk(Settings(_env_file=None, database_url=db_url), database)
    demo.load(database, desk.packs, desk.vault)
    with database.session() as session:
        chat = compliance.find_service_by_name(session, demo.SERVICES[0].name)
    assert chat is not None
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    for kind, count, every in (("clean", clean, None), ("mixed", mixed, 10)):
        rounds = []
        for n in range(ROUNDS):
            _feed(client, f"{kind}{n}", count, every)
            rounds.append(_consume(desk, chat.id, client, f"{kind}{n}", count))
        rates = sorted(float(r["events_per_second"]) for r in rounds)  # type: ignore[arg-type]
        figures[kind] = {
            "events_per_round": count,
            "blocked": f"one in {every}" if every else "none",
            "events_per_second_min_median_max": [rates[0], statistics.median(rates), rates[-1]],
            "rounds": rounds,
        }
    client.close()
    database.dispose()
    return figures


def run() -> dict[str, object]:
    clean = int(os.environ.get("BENCH_CONSUME_EVENTS", "2000"))
    mixed = max(clean // 4, 100)
    figures: dict[str, object] = {
        "batch": 100,
        "max_in_flight": 1000,
        "note": "one consumer, in process; a shared, busy 2-core machine",
    }
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        process, redis_url = _redis(base)
        cwd = Path.cwd()
        os.chdir(base)  # the demo's keys and compiled rule sets go under var/ here
        try:
            for backend in ("sqlite", "postgresql"):
                if backend == "postgresql" and not os.environ.get("TRUSTDESK_TEST_POSTGRES_URL"):
                    continue
                with scratch_url(backend, base) as url:
                    figures[backend] = _measure(url, redis_url, clean, mixed)
        finally:
            os.chdir(cwd)
            process.terminate()
            process.wait(timeout=30)
    return figures
