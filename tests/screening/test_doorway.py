"""The screen use case runs without HTTP: what ``POST /v1/screen`` does is
:func:`trustdesk.screening.doorway.screen`, which its route only adapts."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.testclient import TestClient

from trustdesk.app import desk_of
from trustdesk.auth import service as auth
from trustdesk.callers import ServiceCaller
from trustdesk.db.engine import Database
from trustdesk.screening import doorway
from trustdesk.screening import service as screening
from trustdesk.screening.engine import Verdict
from trustdesk.screening.screen import ScreenCall

from support import ServiceFactory, bearer

RULES = """\
rules:
  - id: gambling
    category: art6.8
    action: block
    terms: [online casino]
"""
SUBJECT = "acct-doorway"


def served(client: TestClient, make_service: ServiceFactory, database: Database) -> ServiceCaller:
    key = make_service("Doorway").api_key
    files = {"file": ("rules.yaml", RULES.encode(), "application/yaml")}
    assert client.post("/v1/rulesets", headers=bearer(key), files=files).status_code == 201
    identity = {
        "subject": SUBJECT,
        "kind": "individual",
        "name": "Test Person",
        "document": {"type": "cn.ric", "number": "110105198802140419"},
    }
    client.post("/v1/identities", headers=bearer(key), json=identity)
    with database.session() as session:
        caller = auth.authenticate(session, key)
    assert isinstance(caller, ServiceCaller)
    return caller


def test_the_door_screens_counts_and_stores_without_a_request(
    app: FastAPI, client: TestClient, make_service: ServiceFactory, database: Database
) -> None:
    caller, desk = served(client, make_service, database), desk_of(app)

    def screen(text: str, subject: str | None = SUBJECT) -> doorway.use_case.ScreenOutcome:
        item = screening.ContentIn.of("m1", text, subject)
        return asyncio.run(doorway.screen(desk, ScreenCall(caller.service_id, item)))

    clean = screen("see you tomorrow")
    screener = desk.screeners.remembered(caller.service_id)[1]
    assert screener is not None
    assert clean.screening is screener.allowed  # the one shared answer, as the engine gives
    assert clean.item_id is None
    blocked = screen("join the online casino")
    assert blocked.screening is not None and blocked.screening.verdict is Verdict.BLOCK
    assert blocked.item_id is not None
    gated = screen("see you tomorrow", subject="nobody")
    assert (gated.gated, gated.item_id) == (True, None)
    with database.session() as session:
        assert [i.id for i in screening.stored_items(session, [blocked.item_id])] == [
            blocked.item_id
        ]
