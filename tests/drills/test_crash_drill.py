"""The crash drill: a real server under load is killed (SIGKILL), restarted on the same
database, and nothing it acknowledged is missing; the record log still verifies.

Several threads screen blocked and clean content and file notices against ``trustdesk
serve``; every answer the server acknowledged (200 with a verdict, 201 with a notice id)
is written down. The server is killed mid-load, so requests are in flight; after the
restart (whose drainer follows up what the killed one left) every acknowledged blocked item
must be stored with its verdict, its log entry, its case and the automatic decision; every
acknowledged notice must answer its notifier; blocked items are counted exactly; clean ones
within the stated bound (the server keeps their counts in memory and writes them every
flush interval: only those answered in the last interval before the kill, and a margin,
may be lost); and ``trustdesk log verify`` passes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from trustdesk import demo
from trustdesk.cases.models import CaseItem, Decision, Notice
from trustdesk.compliance import service as compliance
from trustdesk.db.engine import Database
from trustdesk.records import service as records
from trustdesk.screening import outbox
from trustdesk.screening import service as screening
from trustdesk.screening.models import ContentItem

from support import bearer, clean_environment, running_server

LOAD_SECONDS = 4.0  # of load before the kill: a few hundred requests on a busy 2-core box
SCREENERS = 4
BLOCKED = ("来玩网上赌场, 百家乐代理", "online casino tonight", "hitman for hire, cash")
CLEAN = ("今天天气很好", "see you at the meeting", "周末去爬山吗")
SUBJECT = demo.IDENTITIES[0][0]  # verified: the real-name gate opens
FLUSH_SECONDS = 1.0  # the server writes clean verdicts' counts this often
MARGIN_SECONDS = 1.5  # for a flush under load on a busy machine
ENV = {
    "TRUSTDESK_NOTICES_PER_MINUTE": "1000000",
    "TRUSTDESK_SCREENING_COUNTS_FLUSH_SECONDS": str(FLUSH_SECONDS),
}


@dataclass
class Acknowledged:
    """What the server answered before it died, and what failed when it did."""

    screens: list[tuple[str, str, str | None]] = field(default_factory=list)  # id, verdict, item
    answered_at: list[float] = field(default_factory=list)  # monotonic, one per screen
    killed_at: float = 0.0
    notices: list[tuple[str, str]] = field(default_factory=list)  # notice id, token
    refused: list[tuple[int, str]] = field(default_factory=list)  # an answer other than OK
    cut: int = 0  # requests the kill interrupted (no answer)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _screen(base: str, worker: int, stop: threading.Event, acked: Acknowledged) -> None:
    key = demo.SERVICES[0].api_key
    with httpx.Client(base_url=base, headers=bearer(key), timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            texts = BLOCKED if n % 2 else CLEAN
            content_id = f"drill-{worker}-{n}"
            body = {
                "content": {"id": content_id, "text": texts[n % len(texts)]},
                "subject": SUBJECT,
            }
            try:
                answer = client.post("/v1/screen", json=body)
            except httpx.TransportError:
                with acked.lock:
                    acked.cut += 1
                return
            with acked.lock:
                if answer.status_code == 200:
                    verdict = answer.json()
                    assert verdict["id"] == content_id
                    acked.screens.append((content_id, verdict["verdict"], verdict["item_id"]))
                    acked.answered_at.append(time.monotonic())
                else:
                    acked.refused.append((answer.status_code, answer.text[:200]))


def _notify(base: str, service_id: str, stop: threading.Event, acked: Acknowledged) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        n = 0
        while not stop.is_set():
            n += 1
            body = {
                "service_id": service_id,
                "category": "art6.8",
                "explanation": "An advert for an online casino.",
                "good_faith": True,
                "content_id": f"drill-notice-{n}",
            }
            try:
                answer = client.post("/v1/notices", json=body)
            except httpx.TransportError:
                with acked.lock:
                    acked.cut += 1
                return
            with acked.lock:
                if answer.status_code == 201:
                    receipt = answer.json()
                    acked.notices.append((receipt["notice_id"], receipt["token"]))
                else:
                    acked.refused.append((answer.status_code, answer.text[:200]))


def _verdict_counts(database: Database, service_id: uuid.UUID) -> dict[str, int]:
    with database.session() as session:
        return screening.counts(session, service_id)


def _log_verify(folder: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trustdesk", "log", "verify", "--db", url],
        cwd=folder,  # the server's signing key lives under its working folder
        env=clean_environment(**ENV),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _followed_up(database: Database) -> None:
    """Wait (bounded) for the restarted server's drainer to follow up what was left."""
    deadline = time.monotonic() + 120
    while True:
        with database.session() as session:
            left = outbox.backlog(session)
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} follow-ups still waiting"
        time.sleep(0.2)


def _assert_counted(
    database: Database, service_id: uuid.UUID, acked: Acknowledged, before: dict[str, int]
) -> None:
    """Blocked items (stored) are counted exactly; clean ones within the stated bound."""
    after = _verdict_counts(database, service_id)
    with database.session() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(ContentItem)
            .where(ContentItem.service_id == service_id, ContentItem.content_id.like("drill-%"))
        )
    assert after.get("block", 0) - before.get("block", 0) == stored  # acked and unacked
    clean = [
        t for (_, v, _), t in zip(acked.screens, acked.answered_at, strict=True) if v == "allow"
    ]
    settled = sum(1 for t in clean if t < acked.killed_at - FLUSH_SECONDS - MARGIN_SECONDS)
    counted = after.get("allow", 0) - before.get("allow", 0)
    assert settled <= counted <= len(clean) + SCREENERS, (settled, counted, len(clean))


def _assert_nothing_acknowledged_is_missing(
    database: Database, service_id: uuid.UUID, acked: Acknowledged, before: dict[str, int]
) -> None:
    blocked = [(cid, item) for cid, verdict, item in acked.screens if verdict == "block"]
    _followed_up(database)
    with database.session() as session:
        for content_id, item_id in blocked:
            assert item_id is not None, content_id
            item = session.get(ContentItem, uuid.UUID(item_id))
            assert item is not None, f"acknowledged blocked item {content_id} is missing"
            assert (item.content_id, item.verdict) == (content_id, "block")
            [entry] = records.entries(session, item.log_index, item.log_index + 1)
            assert json.loads(entry.leaf)["data"]["item_id"] == item_id
            case_id = session.scalar(select(CaseItem.case_id).where(CaseItem.item_id == item.id))
            assert case_id is not None, f"blocked item {content_id} has no case"
            decided = session.scalar(select(Decision.id).where(Decision.case_id == case_id))
            assert decided is not None, f"blocked item {content_id} has no decision"
        notice_ids = {uuid.UUID(notice_id) for notice_id, _ in acked.notices}
        stored = set(session.scalars(select(Notice.id).where(Notice.id.in_(notice_ids))))
        assert stored == notice_ids
    _assert_counted(database, service_id, acked, before)


def _drill(folder: Path, url: str) -> Acknowledged:
    acked = Acknowledged()
    database = Database.from_url(url)
    try:
        with running_server(folder, "--demo", env=ENV, db=url) as (base, process):
            with database.session() as session:
                chat = compliance.find_service_by_name(session, demo.SERVICES[0].name)
                assert chat is not None
            warm = httpx.post(  # the first screen compiles the rule set: not part of the load
                f"{base}/v1/screen",
                json={"content": {"id": "warm-up", "text": CLEAN[0]}, "subject": SUBJECT},
                headers=bearer(demo.SERVICES[0].api_key),
                timeout=120,
            )
            assert warm.status_code == 200, warm.text
            before = _verdict_counts(database, chat.id)
            stop = threading.Event()
            workers = [
                threading.Thread(target=_screen, args=(base, n, stop, acked))
                for n in range(SCREENERS)
            ]
            workers.append(threading.Thread(target=_notify, args=(base, str(chat.id), stop, acked)))
            for worker in workers:
                worker.start()
            time.sleep(LOAD_SECONDS)
            acked.killed_at = time.monotonic()
            process.kill()  # SIGKILL: no shutdown, no flush, requests in flight
            process.wait(timeout=30)
            stop.set()
            for worker in workers:
                worker.join(timeout=60)
            assert not any(worker.is_alive() for worker in workers)
        shutil.copy(folder / "server.log", folder / "killed-server.log")

        assert not acked.refused, acked.refused[:5]
        assert any(v == "block" for _, v, _ in acked.screens), "no blocked item was answered"
        assert any(v == "allow" for _, v, _ in acked.screens), "no clean item was answered"
        assert acked.notices, "no notice was answered"

        with running_server(folder, "--demo", env=ENV, db=url) as (base, _process):
            _assert_nothing_acknowledged_is_missing(database, chat.id, acked, before)
            for notice_id, token in acked.notices:
                outcome = httpx.get(
                    f"{base}/v1/notices/{notice_id}", headers={"X-Notice-Token": token}
                )
                assert outcome.status_code == 200, outcome.text
            again = httpx.post(
                f"{base}/v1/screen",
                json={"content": {"id": "after", "text": BLOCKED[0]}, "subject": SUBJECT},
                headers=bearer(demo.SERVICES[0].api_key),
                timeout=30,
            )
            assert again.status_code == 200, again.text
            assert again.json()["verdict"] == "block"
    finally:
        database.engine.dispose()
    verified = _log_verify(folder, url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("ok: "), verified.stdout
    return acked


def test_a_killed_sqlite_server_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    acked = _drill(tmp_path, f"sqlite:///{tmp_path / 'var' / 'serve.db'}")
    print(f"sqlite: {len(acked.screens)} screens, {len(acked.notices)} notices, {acked.cut} cut")


@pytest.mark.postgres
def test_a_killed_postgresql_server_loses_nothing_it_acknowledged(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    postgres = request.getfixturevalue("temporary_postgres")
    acked = _drill(tmp_path, postgres.url)
    print(
        f"postgresql: {len(acked.screens)} screens, {len(acked.notices)} notices, {acked.cut} cut"
    )
