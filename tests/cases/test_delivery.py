"""Delivering actions: the webhook, signed events to a real local receiver that fails, times
out and recovers, backoff, dead letters, acknowledgements, polling, and tenancy."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from receiver import Received, Receiver, running_receiver, seed_actions
from sending import courier
from trustdesk.app import desk_of
from trustdesk.cases import actions, delivery, dispatch, webhook_store
from trustdesk.cases.models import Webhook
from trustdesk.cases.outbound import Courier
from trustdesk.cases.webhooks import Backoff, verify
from trustdesk.crypto.keyring import KeyRing, LocalKeyRing
from trustdesk.db.engine import Database
from trustdesk.permissions import Role
from trustdesk.records.models import LogEntry

from desk import Desk
from support import HOSTILE_STRINGS, ServiceFactory, assert_problem, bearer, token_for

NO_JITTER = Backoff(draw=lambda: 0.0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def http() -> Courier:
    return courier(deadline=0.3)


def keyring_of(desk: Desk) -> KeyRing:
    keyring: KeyRing = desk_of(desk.client.app).vault.keyring  # type: ignore[arg-type]
    return keyring


def deliver(
    desk: Desk,
    database: Database,
    client: Courier,
    now: datetime | None = None,
    *,
    max_attempts: int = delivery.DEFAULT_MAX_ATTEMPTS,
) -> dispatch.DeliverySummary:
    policy = dispatch.DeliveryPolicy(max_attempts=max_attempts, backoff=NO_JITTER)
    with database.session() as session:
        return dispatch.deliver_due(session, keyring_of(desk), client, now, policy=policy)


def set_webhook(desk: Desk, url: str, key: str | None = None) -> str:
    answer = desk.client.put("/v1/webhook", json={"url": url}, headers=bearer(key or desk.key))
    assert answer.status_code == 200, answer.text
    secret: str = answer.json()["secret"]
    return secret


def restrict(desk: Desk, content_id: str = "m-1", subject: str = "acct-1") -> str:
    """A block verdict: decided at once, one stop_dissemination action pending."""
    assert (
        desk.screen(content_id, "new online casino", subject, language="en")["verdict"] == "block"
    )
    pending = desk.get("/v1/actions?status=pending").json()
    mine = [a for a in pending if a["event"]["action"]["content_id"] == content_id]
    assert len(mine) == 1, pending
    action_id: str = mine[0]["id"]
    return action_id


def action(desk: Desk, action_id: str) -> dict[str, Any]:
    found = [a for a in desk.get("/v1/actions?limit=500").json() if a["id"] == action_id]
    assert len(found) == 1
    return found[0]


def log_types(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(LogEntry.type).order_by(LogEntry.index)))


def at(action_row: dict[str, Any], name: str) -> datetime:
    return datetime.fromisoformat(action_row[name])


# --- the webhook ------------------------------------------------------------------------


def test_the_webhook_is_set_shown_rotated_and_removed(desk: Desk, database: Database) -> None:
    assert_problem(desk.get("/v1/webhook"), 404, "webhook_not_found")
    first = set_webhook(desk, "https://hooks.example.org/trustdesk?v=1")
    assert first.startswith("whsec_") and len(first) > 40
    shown = desk.get("/v1/webhook")
    assert shown.status_code == 200
    assert shown.json()["url"] == "https://hooks.example.org/trustdesk?v=1"
    assert "secret" not in shown.json() and first not in shown.text
    second = set_webhook(desk, "https://hooks.example.org/v2")
    assert second != first
    with database.session() as session:
        row = session.scalars(select(Webhook)).one()
        stored = (
            b"".join(bytes(v or b"") for v in (row.ciphertext, row.wrapped_key, row.nonce))
            + row.url.encode()
        )
        assert second.encode() not in stored and first.encode() not in stored
        leaves = b"".join(session.scalars(select(LogEntry.leaf)))
    assert first.encode() not in leaves and second.encode() not in leaves
    assert log_types(database).count("cases:webhook:set") == 2
    assert desk.client.delete("/v1/webhook", headers=bearer(desk.key)).status_code == 204
    assert_problem(desk.get("/v1/webhook"), 404, "webhook_not_found")
    assert_problem(
        desk.client.delete("/v1/webhook", headers=bearer(desk.key)), 404, "webhook_not_found"
    )
    assert log_types(database).count("cases:webhook:set") == 3


def test_only_services_set_webhooks(desk: Desk) -> None:
    answer = desk.client.put(
        "/v1/webhook", json={"url": "https://a.example"}, headers=bearer(desk.moderator)
    )
    assert_problem(answer, 403, "permission_denied")
    assert_problem(
        desk.client.put("/v1/webhook", json={"url": "https://a.example"}), 401, "unauthenticated"
    )


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("file:///etc/passwd", "invalid_webhook_url"),
        ("ftp://files.example.org/hook", "invalid_webhook_url"),
        ("javascript:alert(1)", "invalid_webhook_url"),
        ("https://user:password@hooks.example.org/", "invalid_webhook_url"),
        ("https://user@hooks.example.org/", "invalid_webhook_url"),
        ("http://hooks.example.org/", "invalid_webhook_url"),  # http only to loopback
        ("https://hooks.example.org/#part", "invalid_webhook_url"),
        ("https://hooks.example.org:99999/", "invalid_webhook_url"),
        ("https:///no-host", "invalid_webhook_url"),
        ("https://exa mple.org/", "invalid_webhook_url"),
        ("https://例子.example/", "invalid_webhook_url"),
        ("//hooks.example.org/", "invalid_webhook_url"),
        ("https://" + "a" * 10_000 + ".example/", "invalid_request"),
    ],
)
def test_bad_webhook_urls_are_refused(desk: Desk, url: str, code: str) -> None:
    answer = desk.client.put("/v1/webhook", json={"url": url}, headers=bearer(desk.key))
    body = assert_problem(answer, 422, code)
    assert url[:30] not in body.get("detail", "")
    assert_problem(desk.get("/v1/webhook"), 404, "webhook_not_found")


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
def test_hostile_webhook_urls_never_break_the_server(desk: Desk, hostile: str) -> None:
    answer = desk.client.put(
        "/v1/webhook", content=json.dumps({"url": hostile}), headers=bearer(desk.key)
    )
    assert answer.status_code == 422, answer.text


# --- delivery -----------------------------------------------------------------------------


def test_an_action_is_delivered_signed_and_verifiable(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    secret = set_webhook(desk, receiver.url)
    summary = deliver(desk, database, http)
    assert summary.as_dict() == {
        "attempted": 1,
        "delivered": 1,
        "retrying": 0,
        "dead": 0,
        "skipped_services": 0,
    }
    [request] = receiver.received
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == action_id
    assert request.headers["trustdesk-event-id"] == action_id
    event = verify(secret, request.body, request.headers["trustdesk-signature"])
    assert event["id"] == action_id and event["type"] == "action.issued"
    assert event["service_id"] == desk.service_id
    assert event["action"]["kind"] == "stop_dissemination"
    assert event["action"]["content_id"] == "m-1" and event["action"]["subject"] == "acct-1"
    assert event["decision"]["puid"].startswith("td-")
    assert event["decision"]["category"] == "cn-xj-2014:art6.8"
    delivered = action(desk, action_id)
    assert delivered["status"] == "delivered" and delivered["attempts"] == 1
    assert delivered["time_to_delivery_ms"] is not None and delivered["time_to_delivery_ms"] >= 0
    assert delivered["event"] == event  # pollers see what the webhook carried
    assert log_types(database).count("cases:action:delivered") == 1
    assert deliver(desk, database, http).attempted == 0  # delivered once


def test_fails_times_out_then_recovers_with_growing_backoff(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    secret = set_webhook(desk, receiver.url)
    receiver.answer("500", "sleep", "ok")
    start = datetime.now(UTC)

    first = deliver(desk, database, http, start)
    assert (first.attempted, first.retrying) == (1, 1)
    after_500 = action(desk, action_id)
    assert after_500["status"] == "pending" and after_500["last_error"] == "HTTP 500"
    assert at(after_500, "next_attempt_at") == start + timedelta(seconds=10)
    assert deliver(desk, database, http, start + timedelta(seconds=9)).attempted == 0  # not due

    second = deliver(desk, database, http, start + timedelta(seconds=10))
    assert (second.attempted, second.retrying, second.skipped_services) == (1, 1, 1)
    after_timeout = action(desk, action_id)
    assert after_timeout["last_error"].startswith("timeout")
    assert at(after_timeout, "next_attempt_at") == start + timedelta(seconds=10 + 20)

    third = deliver(desk, database, http, start + timedelta(seconds=30))
    assert third.delivered == 1
    done = action(desk, action_id)
    assert done["status"] == "delivered" and done["attempts"] == 3 and done["last_error"] is None
    keys = [r.headers["idempotency-key"] for r in receiver.received]
    assert keys == [action_id] * 3  # stable across retries
    assert len(set(receiver.bodies())) == 1  # the same event each time
    for request in receiver.received:  # each attempt signed afresh, each verifies
        assert verify(secret, request.body, request.headers["trustdesk-signature"])


def test_dead_after_the_last_attempt_then_retried_by_an_operator(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    set_webhook(desk, receiver.url)
    receiver.default = "500"
    moment = datetime.now(UTC)
    waits = []
    for _ in range(3):
        summary = deliver(desk, database, http, moment, max_attempts=3)
        assert summary.attempted == 1
        row = action(desk, action_id)
        if row["next_attempt_at"]:
            waits.append(at(row, "next_attempt_at") - moment)
            moment = at(row, "next_attempt_at")
    assert waits == [timedelta(seconds=10), timedelta(seconds=20)]
    dead = action(desk, action_id)
    assert dead["status"] == "dead" and dead["attempts"] == 3
    assert dead["last_error"] == "HTTP 500" and dead["next_attempt_at"] is None
    assert deliver(desk, database, http, moment + timedelta(days=1), max_attempts=3).attempted == 0
    assert log_types(database).count("cases:action:dead") == 1
    operators = desk.get("/v1/actions?status=dead", desk.moderator).json()
    assert [a["id"] for a in operators] == [action_id]
    officer = token_for(database, "officer.one", Role.COMPLIANCE_OFFICER)
    assert_problem(desk.get("/v1/actions?status=dead", officer), 403, "permission_denied")

    with database.session() as session:
        actions.requeue(session, uuid.UUID(action_id), by="ops")
    receiver.default = "ok"
    assert deliver(desk, database, http, max_attempts=3).delivered == 1
    assert action(desk, action_id)["status"] == "delivered"


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    assert [NO_JITTER.delay(n) for n in range(1, 11)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        1280,
        2560,
        3600,
    ]
    most = Backoff(draw=lambda: 1.0)
    assert most.delay(1) == pytest.approx(8.0)
    real = Backoff()
    delays = [real.delay(n) for n in range(1, 9)]
    assert delays == sorted(delays) and len(set(delays)) == 8
    assert all(8.0 <= real.delay(1) <= 10.0 for _ in range(100))
    assert all(real.delay(40) <= 3600 for _ in range(100))


def test_redirects_are_not_followed(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    set_webhook(desk, receiver.url)
    receiver.answer("redirect")
    assert deliver(desk, database, http).retrying == 1
    assert action(desk, action_id)["last_error"] == "HTTP 302 (redirects are not followed)"
    assert [r.path for r in receiver.received] == ["/hook"]


def test_a_huge_answer_is_not_read(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    set_webhook(desk, receiver.url)
    receiver.answer("huge")
    assert deliver(desk, database, http).delivered == 1
    assert receiver.huge_done.wait(10)
    assert receiver.huge_sent < 50 * 1024 * 1024  # the client hung up long before
    assert action(desk, action_id)["status"] == "delivered"


def test_an_unreachable_receiver_is_retried(desk: Desk, database: Database, http: Courier) -> None:
    action_id = restrict(desk)
    with running_receiver() as gone:
        url = gone.url
    set_webhook(desk, url)  # nothing listens there any more
    summary = deliver(desk, database, http)
    assert (summary.retrying, summary.skipped_services) == (1, 1)
    assert action(desk, action_id)["last_error"].startswith("network error")


# --- polling and acknowledgements ---------------------------------------------------------


def test_without_a_webhook_actions_wait_for_polling_and_are_acknowledged(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    set_webhook(desk, receiver.url)
    assert desk.client.delete("/v1/webhook", headers=bearer(desk.key)).status_code == 204
    ids = [restrict(desk, f"m-{n}", f"acct-{n}") for n in (1, 2, 3)]
    assert deliver(desk, database, http).attempted == 0
    assert receiver.received == []
    page, after = [], None
    while True:  # page through, one at a time
        query = "/v1/actions?status=pending&limit=1" + (f"&after={after}" if after else "")
        found = desk.get(query).json()
        if not found:
            break
        page += found
        after = found[-1]["id"]
    assert [a["id"] for a in page] == ids
    acked = desk.post(f"/v1/actions/{ids[0]}/ack", {})
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_at"] == body["delivered_at"]  # polled: ack is delivery
    assert body["time_to_delivery_ms"] is not None
    again = desk.post(f"/v1/actions/{ids[0]}/ack", {})
    assert again.json()["acknowledged_at"] == body["acknowledged_at"]
    assert log_types(database).count("cases:action:acknowledged") == 1
    pending = [a["id"] for a in desk.get("/v1/actions?status=pending").json()]
    assert pending == ids[1:]


def test_a_delivered_action_is_acknowledged(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    set_webhook(desk, receiver.url)
    deliver(desk, database, http)
    acked = desk.post(f"/v1/actions/{action_id}/ack", {}).json()
    assert acked["status"] == "acknowledged"
    assert acked["delivered_at"] < acked["acknowledged_at"]


def test_an_ack_before_the_answer_is_recorded_wins(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    """The service acks from inside its webhook handler: the late 2xx changes nothing.

    The ack goes through the service layer on a session closed before the receiver answers:
    through the test client, the request's session may still be closing on the test's one
    shared connection when the worker's next transaction begins there.
    """
    action_id = restrict(desk)
    set_webhook(desk, receiver.url)

    def ack(_request: Received) -> None:
        with database.session() as session:
            actions.acknowledge(session, uuid.UUID(desk.service_id), uuid.UUID(action_id))

    receiver.on_request = ack
    summary = deliver(desk, database, http)
    assert (summary.attempted, summary.delivered) == (1, 0)
    assert action(desk, action_id)["status"] == "acknowledged"
    assert "cases:action:delivered" not in log_types(database)


def test_another_service_cannot_see_or_ack_your_actions(
    desk: Desk, database: Database, make_service: ServiceFactory
) -> None:
    action_id = restrict(desk)
    other = make_service("Elsewhere").api_key
    assert desk.get("/v1/actions", other).json() == []
    assert desk.get(f"/v1/actions?service_id={desk.service_id}", other).json() == []
    assert_problem(desk.get(f"/v1/actions?after={action_id}", other), 404, "action_not_found")
    assert_problem(desk.post(f"/v1/actions/{action_id}/ack", {}, other), 404, "action_not_found")
    assert_problem(
        desk.post(f"/v1/actions/{action_id}/ack", {}, desk.moderator), 403, "permission_denied"
    )
    assert_problem(
        desk.post("/v1/actions/00000000-0000-0000-0000-000000000000/ack", {}),
        404,
        "action_not_found",
    )
    assert action(desk, action_id)["status"] == "pending"
    everyone = desk.get(f"/v1/actions?service_id={desk.service_id}", desk.moderator).json()
    assert [a["id"] for a in everyone] == [action_id]


def test_time_to_delivery_is_recorded_for_the_case(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    set_webhook(desk, receiver.url)
    deliver(desk, database, http)
    with database.session() as session:
        view = actions.list_actions(session, service_id=None)[0]
        times = actions.delivery_times(session, view.case_id)
    assert [str(t.action_id) for t in times] == [action_id]
    [time] = times
    assert time.delivered_at is not None
    assert time.time_to_delivery_ms == actions.elapsed_ms(time.opened_at, time.delivered_at)


def test_webhook_secrets_move_with_a_key_rotation(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    restrict(desk)
    secret = set_webhook(desk, receiver.url)
    keyring = keyring_of(desk)
    assert isinstance(keyring, LocalKeyRing)
    old = keyring.current_id()
    new = keyring.rotate()
    with database.session() as session:
        assert webhook_store.key_usage(session) == {old: 1}
        assert webhook_store.rewrap(session, keyring) == 1
        assert webhook_store.key_usage(session) == {new: 1}
    keyring.retire(old)
    assert deliver(desk, database, http).delivered == 1
    [request] = receiver.received
    assert verify(secret, request.body, request.headers["trustdesk-signature"])


def test_a_pass_stops_at_its_limit(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    set_webhook(desk, receiver.url)
    with database.session() as session:
        seed_actions(session, uuid.UUID(desk.service_id), 5)
        first = dispatch.deliver_due(session, keyring_of(desk), http, limit=2)
        assert (first.attempted, first.delivered) == (2, 2)
        rest = dispatch.deliver_due(session, keyring_of(desk), http, limit=2)
        assert rest.delivered == 2
        assert dispatch.deliver_due(session, keyring_of(desk), http).delivered == 1
    assert len(receiver.received) == 5
