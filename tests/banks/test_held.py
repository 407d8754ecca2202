"""The process holds the banks' indexes: loaded at start, kept current by its own loop (a
bank entry added is searchable within a refresh, no restart), named in ``/readyz``."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from trustdesk.app import desk_of
from trustdesk.banks.access import Actor
from trustdesk.banks.entries import NewEntry, add
from trustdesk.banks.held import HeldIndexes
from trustdesk.banks.service import NewBank, create
from trustdesk.banks.values import BankAction, Signal
from trustdesk.db.engine import Database
from trustdesk.policy.service import PackRegistry

from support import ServiceFactory

WAIT = 15.0  # a bound on the wait, never a figure asserted: the loop turns every second


def test_an_entry_added_is_matched_within_a_refresh(
    app: FastAPI, database: Database, make_service: ServiceFactory, packs: PackRegistry
) -> None:
    service = make_service().service
    with TestClient(app) as client:
        held = desk_of(app).bank_indexes
        assert held.indexes is not None and held.status is None  # loaded at start
        assert client.get("/readyz").json()["checks"]["bank_indexes"] == {
            "ok": True,
            "detail": "loaded",
        }
        actor = Actor("test", service_id=service.id)
        with database.session() as session:
            new = NewBank("links", Signal.URL_DOMAIN, "art6.8", BankAction.BLOCK)
            bank = create(session, actor, new, packs=packs.all())
            add(session, actor, bank.id, [NewEntry("casino.example")])
        deadline = time.monotonic() + WAIT
        found = held.indexes.search(service.id, Signal.URL_DOMAIN, ["casino.example"], 10)
        while not found.matches and time.monotonic() < deadline:
            time.sleep(0.05)
            found = held.indexes.search(service.id, Signal.URL_DOMAIN, ["casino.example"], 10)
        assert [m.bank.name for m in found.matches] == ["links"]


def test_a_failed_load_is_said_and_leaves_no_indexes() -> None:
    broken = Database(create_engine("sqlite:///file:nowhere?mode=ro&uri=true"))
    held = HeldIndexes()
    assert held.load(broken) is None
    assert held.indexes is None
    assert held.status is not None and held.status.startswith("loading them failed")
