"""Issue 13, point 5: webhooks cannot reach inside the network.

A resolver the test controls maps names to a real HTTPS receiver on loopback (with a
certificate for the name from a throwaway authority). In production the delivery is
refused, whatever the name answered at registration; outside production it is made, to
the address looked up once, with the name kept for the Host header, SNI and the
certificate check. Stored URLs are judged by the rules of the environment they are used in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from receiver import Receiver, running_receiver, seed_actions
from sending import Authority, Names, courier
from trustdesk.app import desk_of, vet_webhooks
from trustdesk.cases import dispatch, webhook_store
from trustdesk.cases.models import Action, ActionStatus
from trustdesk.cases.outbound import AddressGuard, HostRefused
from trustdesk.cases.webhooks import Backoff
from trustdesk.crypto.keyring import KeyRing
from trustdesk.db.engine import Database
from trustdesk.records.models import LogEntry

from desk import Desk
from support import assert_problem, bearer

NAME = "hooks.example.test"
NO_JITTER = dispatch.DeliveryPolicy(backoff=Backoff(draw=lambda: 0.0))


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path / "ca")


@pytest.fixture
def tls_receiver(authority: Authority) -> Iterator[Receiver]:
    with running_receiver(tls=authority.server(NAME)) as running:
        yield running


def keyring_of(desk: Desk) -> KeyRing:
    keyring: KeyRing = desk_of(desk.client.app).vault.keyring  # type: ignore[arg-type]
    return keyring


@pytest.fixture
def production_names() -> Names:
    """The resolver of an app whose guard is production's (a test asking for it gets one)."""
    return Names()


@pytest.fixture
def desk_parts(request: pytest.FixtureRequest) -> dict[str, Any]:
    if "production_names" in request.fixturenames:
        names = request.getfixturevalue("production_names")
        return {"webhook_guard": AddressGuard(False, names)}
    return {}


def put_webhook(desk: Desk, url: str) -> dict[str, str]:
    answer = desk.client.put("/v1/webhook", json={"url": url}, headers=bearer(desk.key))
    result: dict[str, str] = answer.json()
    assert answer.status_code == 200, answer.text
    return result


def one_action(desk: Desk, database: Database) -> uuid.UUID:
    with database.session() as session:
        [action_id] = seed_actions(session, uuid.UUID(desk.service_id), 1)
    return action_id


def action(database: Database, action_id: uuid.UUID) -> Action:
    with database.session() as session:
        found = session.get(Action, action_id)
        assert found is not None
        return found


def deliver(
    desk: Desk,
    database: Database,
    *,
    production: bool,
    names: Names,
    tls: Authority | None = None,
    now: datetime | None = None,
) -> dispatch.DeliverySummary:
    client = tls.client() if tls is not None else None
    sender = courier(2.0, allow_internal=not production, resolver=names, tls=client)
    with database.session() as session:
        return dispatch.deliver_due(session, keyring_of(desk), sender, now, policy=NO_JITTER)


def test_a_name_pointing_at_a_loopback_listener_is_refused_in_production_only(
    desk: Desk,
    database: Database,
    tls_receiver: Receiver,
    authority: Authority,
    caplog: pytest.LogCaptureFixture,
) -> None:
    names = Names()
    names.point(NAME, ["127.0.0.1"])
    url = f"https://{NAME}:{tls_receiver.port}/hook"
    put_webhook(desk, url)  # outside production: allowed, and nothing looked up yet
    assert names.asked == []
    action_id = one_action(desk, database)
    start = datetime.now(UTC)

    with caplog.at_level(logging.WARNING, logger="trustdesk.webhooks"):
        refused = deliver(desk, database, production=True, names=names, tls=authority, now=start)
    assert (refused.attempted, refused.retrying, refused.delivered) == (1, 1, 0)
    assert tls_receiver.received == [] and tls_receiver.server_names == []  # never connected
    waiting = action(database, action_id)
    assert waiting.status is ActionStatus.PENDING
    assert waiting.last_error == f"refused: {HostRefused.PUBLIC}"
    assert "127.0.0.1" not in waiting.last_error  # the tenant learns nothing of the network
    assert f"{NAME} resolves to 127.0.0.1 (loopback)" in caplog.text  # the operator does
    assert names.asked == [NAME]

    later = start + timedelta(seconds=10)
    made = deliver(desk, database, production=False, names=names, tls=authority, now=later)
    assert made.delivered == 1
    [request] = tls_receiver.received
    assert request.headers["host"] == f"{NAME}:{tls_receiver.port}"
    assert tls_receiver.server_names == [NAME]  # SNI is the name, and its certificate passed
    assert names.asked == [NAME, NAME]  # one lookup per attempt, none by the HTTP stack


def test_the_certificate_is_checked_for_the_name_not_the_address(
    desk: Desk, database: Database, tls_receiver: Receiver, authority: Authority
) -> None:
    names = Names()
    names.point("other.example.test", ["127.0.0.1"])  # same listener, cert for another name
    put_webhook(desk, f"https://other.example.test:{tls_receiver.port}/hook")
    action_id = one_action(desk, database)
    summary = deliver(desk, database, production=False, names=names, tls=authority)
    assert summary.retrying == 1
    assert tls_receiver.received == []
    assert action(database, action_id).last_error == "network error (ConnectError)"


def test_a_name_rebound_inward_after_registration_is_refused(
    desk: Desk,
    database: Database,
    tls_receiver: Receiver,
    authority: Authority,
    production_names: Names,
) -> None:
    names = production_names
    names.point(NAME, ["93.184.215.14"], ["127.0.0.1"])  # public when registered, then not
    put_webhook(desk, f"https://{NAME}:{tls_receiver.port}/hook")
    assert names.asked == [NAME]
    action_id = one_action(desk, database)
    summary = deliver(desk, database, production=True, names=names, tls=authority)
    assert summary.retrying == 1
    assert tls_receiver.received == []
    assert action(database, action_id).last_error == f"refused: {HostRefused.PUBLIC}"


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.7"],
        ["169.254.169.254"],
        ["100.64.3.4"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["64:ff9b::a00:7"],
        ["2002:c0a8:101::1"],
        ["fd00::7"],
        ["93.184.215.14", "127.0.0.1"],  # one inward answer among public ones is enough
        [],  # does not resolve: the same answer, so no name inside is confirmed
    ],
)
def test_registration_in_production_refuses_names_that_resolve_inward(
    desk: Desk, answers: list[str], production_names: Names
) -> None:
    names = production_names
    if answers:
        names.point("inward.example.test", answers)
    answer = desk.client.put(
        "/v1/webhook", json={"url": "https://inward.example.test/hook"}, headers=bearer(desk.key)
    )
    body = assert_problem(answer, 422, "webhook_host_refused")
    assert body["detail"] == HostRefused.PUBLIC
    assert_problem(desk.get("/v1/webhook"), 404, "webhook_not_found")


def test_registration_in_production_accepts_a_public_name(
    desk: Desk, production_names: Names
) -> None:
    names = production_names
    names.point("hooks.example.org", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    assert put_webhook(desk, "https://hooks.example.org/trustdesk")["url"].endswith("/trustdesk")


def test_a_stored_url_production_refuses_goes_dead_at_once_saying_why(
    desk: Desk, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Set in development (loopback allowed), used in production: re-checked, refused."""
    with running_receiver() as receiver:
        put_webhook(desk, receiver.url)
        action_id = one_action(desk, database)
        names = Names()
        wiring = desk_of(desk.client.app)  # type: ignore[arg-type]
        in_production = replace(wiring, webhook_guard=AddressGuard(False, names))
        with caplog.at_level(logging.WARNING, logger="trustdesk.app"):
            [refused] = vet_webhooks(in_production)
        assert refused.service_id == uuid.UUID(desk.service_id)
        assert "own machine" in refused.reason
        assert f"webhook of service {desk.service_id} is refused here" in caplog.text
        summary = deliver(desk, database, production=True, names=names)
    assert (summary.attempted, summary.dead) == (1, 1)
    assert receiver.received == []
    dead = action(database, action_id)
    assert dead.status is ActionStatus.DEAD and dead.attempts == 1
    assert dead.last_error == "refused: a webhook may not point at this server's own machine"
    with database.session() as session:
        types = list(session.scalars(select(LogEntry.type)))
    assert "cases:action:dead" in types


def test_every_stored_url_is_checked_against_the_rules_in_force(desk: Desk) -> None:
    names = Names()
    names.point("fine.example.test", ["93.184.215.14"])
    names.point("gone-inward.example.test", ["192.168.4.4"])
    guard = AddressGuard(False, names)
    with running_receiver() as receiver:
        put_webhook(desk, receiver.url)
    database = desk_of(desk.client.app).database  # type: ignore[arg-type]
    with database.session() as session:
        [found] = webhook_store.vet_stored_webhooks(session, guard)
        assert "own machine" in found.reason
        assert webhook_store.vet_stored_webhooks(session, AddressGuard(True, names)) == []
