"""The hot path of POST /v1/screen: no worker thread and no query for a clean message from a
known key and subject; what it remembers (keys, the gate's yes) is forgotten within a
second, so a revoked key or a withdrawn verification is refused within that second."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import event

from trustdesk.app import create_app, desk_of
from trustdesk.auth import service as auth
from trustdesk.callers import ServiceCaller, UserCaller
from trustdesk.db.engine import Database
from trustdesk.http import behind
from trustdesk.http.recent import TTL_SECONDS, Recent
from trustdesk.permissions import Role
from trustdesk.screening import service as screening
from trustdesk.settings import Settings

from support import ServiceFactory, assert_problem, bearer, token_for

RULES = """\
rules:
  - id: gambling
    category: art6.8
    action: block
    terms: [online casino, 赌博]
"""
SUBJECT = "acct-door"


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def desk_parts(clock: Clock) -> dict[str, Any]:
    return {"known_keys": Recent(clock=clock), "known_gates": Recent(clock=clock)}


@pytest.fixture
def key(client: TestClient, make_service: ServiceFactory, app: FastAPI, clock: Clock) -> str:
    """A service with a rule set and one verified subject (the screeners on ``clock``)."""
    desk_of(app).screeners.clock = clock
    api_key = make_service("Door").api_key
    deployed = client.post(
        "/v1/rulesets",
        headers=bearer(api_key),
        files={"file": ("rules.yaml", RULES.encode(), "application/yaml")},
    )
    assert deployed.status_code == 201, deployed.text
    identity = {
        "subject": SUBJECT,
        "kind": "individual",
        "name": "Test Person",
        "document": {"type": "cn.ric", "number": "110105198802140419"},
    }
    registered = client.post("/v1/identities", headers=bearer(api_key), json=identity)
    assert registered.json()["status"] == "verified", registered.text
    return api_key


def screen(client: TestClient, key: str, text: str = "hello there", subject: str = SUBJECT) -> Any:
    body = {"content": {"id": "m1", "text": text}, "subject": subject}
    return client.post("/v1/screen", headers=bearer(key), json=body)


@pytest.fixture
def statements(database: Database) -> Iterator[list[str]]:
    """Every SQL statement the database runs from here on."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", record)
    yield seen
    event.remove(database.engine, "before_cursor_execute", record)


def test_the_screen_routes_and_their_dependencies_are_coroutines(app: FastAPI) -> None:
    """FastAPI runs a plain function (route or dependency) on a worker thread: none is."""
    for path in ("/v1/screen", "/v1/screen/batch"):
        [route] = [
            c.original_route
            for c in iter_route_contexts(list(app.routes))
            if isinstance(c.original_route, APIRoute) and c.path == path
        ]
        pending, calls = [route.dependant], []
        while pending:
            dependant = pending.pop()
            pending.extend(dependant.dependencies)
            if dependant.call is not None:
                calls.append(dependant.call)
        assert calls
        plain = [
            call
            for call in calls
            if not inspect.iscoroutinefunction(call)
            and not inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004
        ]
        assert plain == [], f"{path}: these run on a worker thread: {plain}"


def test_a_clean_screen_from_a_known_key_and_subject_reads_nothing(
    client: TestClient, key: str, statements: list[str], database: Database
) -> None:
    assert screen(client, key).json()["verdict"] == "allow"  # the door learns key and gate
    statements.clear()
    for _ in range(3):
        assert screen(client, key).json()["verdict"] == "allow"
    # the only statements: the counts, written after each answer (none read anything)
    assert statements
    writes = [s for s in statements if not s.startswith(("SAVEPOINT", "RELEASE", "PRAGMA"))]
    assert all("screening_counts" in s for s in writes), writes
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    with database.session() as session:
        caller = auth.authenticate(session, key)
        assert isinstance(caller, ServiceCaller)
        assert screening.counts(session, caller.service_id) == {"allow": 4}


def test_a_blocked_item_is_stored_at_once(
    client: TestClient, key: str, statements: list[str]
) -> None:
    screen(client, key)
    statements.clear()
    blocked = screen(client, key, "来玩赌博").json()
    assert (blocked["verdict"], blocked["item_id"] is not None) == ("block", True)
    assert any("INSERT INTO content_items" in s for s in statements)


def _revoke(database: Database, key: str) -> None:
    """An administrator revokes the service's one API key, ``key``."""
    with database.session() as session:
        admin = auth.authenticate(session, token_for(database, "door.admin", Role.ADMIN))
        assert isinstance(admin, UserCaller)
        caller = auth.authenticate(session, key)
        assert isinstance(caller, ServiceCaller)
        [live] = auth.list_api_keys(session, caller.service_id)
        auth.revoke_api_key(session, admin, live.service_id, live.id)
        session.commit()


def test_a_revoked_key_is_refused_within_a_second(
    client: TestClient, key: str, database: Database, clock: Clock
) -> None:
    assert screen(client, key).status_code == 200
    _revoke(database, key)
    clock.advance(TTL_SECONDS / 4)
    assert screen(client, key).status_code == 200  # remembered: at most a second more
    clock.advance(TTL_SECONDS * 3 / 4)
    assert_problem(screen(client, key), 401, "invalid_credentials")


def _is_read(statement: object) -> bool:
    return str(statement).lstrip().upper().startswith("SELECT")


@pytest.fixture
def served(
    settings: Settings, database: Database, desk_parts: dict[str, Any], clock: Clock, key: str
) -> Iterator[TestClient]:
    """The door as a server runs it: refreshing behind requests, and counting clean verdicts
    in memory (so that a clean screen uses no connection: the test's one is shared)."""
    counted = settings.model_copy(update={"screening_counts_flush_seconds": 60.0})
    app = create_app(counted, database, adjust=lambda desk: replace(desk, **desk_parts))
    desk_of(app).screeners.clock = clock
    behind.start()
    try:
        with TestClient(app, raise_server_exceptions=False) as served_client:
            yield served_client
    finally:
        assert behind.stop(timeout=60)


def test_what_the_door_remembers_is_refreshed_behind_the_request_that_finds_it_aging(
    served: TestClient, key: str, database: Database, clock: Clock, statements: list[str]
) -> None:
    """Past half its second, the key's service, the subject's gate and the service's rule
    set are read again on a thread of their own: the request that found them aging answers
    from memory like every other (waiting for the reads, it waited for the interpreter lock
    against a busy event loop at each step: the clean door's tail)."""
    client = served
    assert screen(client, key).json()["verdict"] == "allow"  # the door learns them
    answered = threading.Event()
    reads_after_the_answer: list[bool] = []

    def hold(*args: Any) -> None:
        if _is_read(args[2]):  # (bounded: the old door asked inside the request, and hung)
            reads_after_the_answer.append(answered.wait(timeout=5))

    event.listen(database.engine, "before_cursor_execute", hold)
    try:
        clock.advance(TTL_SECONDS * 0.6)
        aging = screen(client, key)
        answered.set()
        assert behind.settle(timeout=60)
    finally:
        event.remove(database.engine, "before_cursor_execute", hold)
    assert aging.json()["verdict"] == "allow"
    assert len(reads_after_the_answer) >= 3  # key, gate, active rule set
    assert all(reads_after_the_answer), reads_after_the_answer
    statements.clear()
    clock.advance(TTL_SECONDS * 0.45)  # over a second since they were learnt: refreshed
    assert screen(client, key).json()["verdict"] == "allow"
    assert not [s for s in statements if _is_read(s)]


def test_a_key_revoked_is_forgotten_by_the_refresh_behind_a_request(
    served: TestClient, key: str, database: Database, clock: Clock
) -> None:
    client = served
    assert screen(client, key).status_code == 200
    _revoke(database, key)
    clock.advance(TTL_SECONDS * 0.6)
    assert screen(client, key).status_code == 200  # answered from memory, checked behind
    assert behind.settle(timeout=60)
    assert_problem(screen(client, key), 401, "invalid_credentials")  # before its second


def test_a_withdrawn_verification_closes_the_gate_within_a_second(
    client: TestClient, key: str, clock: Clock
) -> None:
    assert screen(client, key).json()["verdict"] == "allow"
    erased = client.delete(f"/v1/identities/{SUBJECT}", headers=bearer(key))
    assert erased.json()["status"] == "erasure_pending"
    assert screen(client, key).json()["verdict"] == "allow"  # the gate's yes, remembered
    clock.advance(TTL_SECONDS)
    refused = screen(client, key).json()
    assert refused["verdict"] == "block"
    assert refused["findings"][0]["rule"] == "identity_required"


def test_a_refusal_is_not_remembered(client: TestClient, key: str) -> None:
    assert screen(client, key, subject="newcomer").json()["verdict"] == "block"
    identity = {
        "subject": "newcomer",
        "kind": "individual",
        "name": "New Person",
        "document": {"type": "cn.ric", "number": "11010519491231002X"},
    }
    registered = client.post("/v1/identities", headers=bearer(key), json=identity)
    assert registered.json()["status"] == "verified", registered.text
    assert screen(client, key, subject="newcomer").json()["verdict"] == "allow"  # at once


def test_a_user_token_is_asked_every_time(client: TestClient, database: Database) -> None:
    """Only services' keys are remembered: a user deactivated is refused at once."""
    token = token_for(database, "door.auditor", Role.AUDITOR)
    admin_token = token_for(database, "door.admin", Role.ADMIN)
    entries = "/v1/log/entries?start=0&end=1"
    assert client.get(entries, headers=bearer(token)).status_code == 200
    with database.session() as session:
        admin = auth.authenticate(session, admin_token)
        auditor = auth.authenticate(session, token)
        assert isinstance(admin, UserCaller)
        assert isinstance(auditor, UserCaller)
        auth.set_active(session, admin, auditor.user_id, active=False)
        session.commit()
    assert_problem(client.get(entries, headers=bearer(token)), 401, "invalid_credentials")
