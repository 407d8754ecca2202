"""The process holds the banks' indexes: loaded at start, kept current by its own loop (a
bank entry added is matched by a request within a refresh, no restart), named in
``/readyz``; a failed load is said and leaves the door screening text as before."""

from __future__ import annotations

import asyncio
import contextlib
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from bank_support import bank, screened, verified
from trustdesk.app import desk_of, process_jobs
from trustdesk.banks.held import HeldIndexes
from trustdesk.banks.values import Signal
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry
from trustdesk.settings import Settings

from support import ServiceFactory

WAIT = 15.0  # a bound on the wait, never a figure asserted


async def _refreshed_until_held(held: HeldIndexes, database: Database, value: str) -> bool:
    """Run the process's refresh loop (every 50 ms here) until ``value`` is held."""
    loop = asyncio.create_task(held.run(database, 0.05))
    deadline = time.monotonic() + WAIT
    try:
        while time.monotonic() < deadline:
            indexes = held.indexes
            if indexes and indexes.search(None, Signal.URL_DOMAIN, [value], 1).matches:
                return True
            await asyncio.sleep(0.05)
        return False
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


def test_an_entry_added_is_matched_by_a_request_within_a_refresh(
    app: FastAPI, database: Database, make_service: ServiceFactory, packs: PackRegistry
) -> None:
    service = make_service()
    with TestClient(app) as client:
        verified(client, service.api_key)
        held = desk_of(app).bank_indexes
        assert held.indexes is not None and held.status is None  # loaded at start
        check = client.get("/readyz").json()["checks"]["bank_indexes"]
        assert check == {"ok": True, "detail": "loaded"}
        assert screened(client, service.api_key, "go to spin-bonus.example")["findings"] == []
        bank(database, packs, service.service.id, "links", ["spin-bonus.example"])
        assert asyncio.run(_refreshed_until_held(held, database, "spin-bonus.example"))
        answer = screened(client, service.api_key, "go to spin-bonus.example", "m2")
        assert answer["verdict"] == "block"
        assert [f["rule"] for f in answer["findings"]] == ["bank:links"]


def test_each_process_refreshes_its_own_unless_turned_off(app: FastAPI, settings: Settings) -> None:
    assert settings.banks_refresh_seconds == 0  # (the tests' settings)
    jobs = len(process_jobs(app))
    desk = desk_of(app)
    object.__setattr__(desk, "settings", settings.model_copy(update={"banks_refresh_seconds": 1}))
    assert len(process_jobs(app)) == jobs + 1
    assert Settings(_env_file=None).banks_refresh_seconds == 1.0  # the default


def test_a_failed_load_is_said_and_leaves_no_indexes() -> None:
    broken = Database(create_engine("sqlite:///file:nowhere?mode=ro&uri=true"))
    held = HeldIndexes()
    assert held.load(broken) is None
    assert held.indexes is None
    assert held.status is not None and held.status.startswith("loading them failed")
    held.refresh(broken)  # the loop's turn tries the load again, and says so again
    assert held.indexes is None and held.status.startswith("loading them failed")
