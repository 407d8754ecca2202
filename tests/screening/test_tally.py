"""Counts of unstored verdicts, kept in memory: exact under many threads, written as one
upsert per (service, day, verdict) that adds to what is stored, kept when a write fails,
and written at the server's shutdown."""

from __future__ import annotations

import threading
import uuid
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from trustdesk.app import create_app
from trustdesk.db.engine import Database
from trustdesk.screening import service
from trustdesk.screening.tally import Tally
from trustdesk.settings import Settings

from support import ServiceFactory, bearer


def test_threads_count_exactly_and_a_flush_adds_to_what_is_stored(
    database: Database, make_service: ServiceFactory
) -> None:
    service_id = make_service().service.id
    tally = Tally()

    def screen_many() -> None:
        for n in range(1000):
            tally.add(service_id, "allow" if n % 4 else "block")

    threads = [threading.Thread(target=screen_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tally.pending() == 8000
    with database.session() as session:
        assert tally.flush(session) == 8000
        assert tally.pending() == 0
        tally.add(service_id, "allow")
        tally.add(service_id, "allow", day=date(2026, 1, 1))
        assert tally.flush(session) == 2
        assert service.counts(session, service_id) == {"allow": 6002, "block": 2000}
        first = date(2026, 1, 1)
        assert service.counts(session, service_id, first_day=first, last_day=first) == {"allow": 1}


def test_a_failed_write_keeps_the_counts_for_the_next(tmp_path: Path) -> None:
    tally = Tally()
    service_id = uuid.uuid4()
    tally.add(service_id, "allow")
    unmigrated = Database.from_url(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables
    try:
        with pytest.raises(OperationalError):
            tally.flush_to(unmigrated)
    finally:
        unmigrated.dispose()
    assert tally.pending() == 1


def test_the_server_writes_its_counts_at_shutdown(
    settings: Settings, database: Database, make_service: ServiceFactory
) -> None:
    created = make_service()  # its packs gate unverified subjects: blocked, only counted
    hourly = settings.model_copy(update={"screening_counts_flush_seconds": 3600})
    app = create_app(hourly, database)
    body = {"content": {"id": "m-1", "text": "hello"}, "subject": "acct-nobody"}
    with TestClient(app) as client:
        answer = client.post("/v1/screen", json=body, headers=bearer(created.api_key))
        assert answer.status_code == 200, answer.text
        assert answer.json()["verdict"] == "block"
        with database.session() as session:
            assert service.counts(session, created.service.id) == {}  # in memory only
    with database.session() as session:
        assert service.counts(session, created.service.id) == {"block": 1}
