"""Deliveries signed the Standard Webhooks way: chosen per service with its webhook, sent to
a real local receiver, and verified with the specification's own libraries, the Python
package and the JavaScript one under the machine's node; and the scheme's own check
refuses tampered, stale, replayed and malformed deliveries."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from test_delivery import deliver, log_types, restrict

from receiver import Receiver, running_receiver
from sending import courier
from trustdesk.cases import standard_webhooks
from trustdesk.cases.outbound import Courier
from trustdesk.cases.webhooks import InvalidSignature, ReplayGuard, encode_event, verify
from trustdesk.db.engine import Database

from desk import Desk
from support import assert_problem, bearer

JS = Path(__file__).parent.parent / "webhooks_js"
BODY = encode_event({"id": "a-1", "type": "action.issued", "action": {"kind": "delete"}})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def http() -> Courier:
    return courier(deadline=0.3)


def _js_verify(secret: str, headers: dict[str, str], body: bytes) -> Any:
    """The payload as the JavaScript library verifies it (or its error)."""
    node = shutil.which("node")
    assert node, "node is needed to check deliveries with the JavaScript library"
    assert (JS / "node_modules" / "standardwebhooks").is_dir(), "run `make install` (npm ci)"
    given = json.dumps({"secret": secret, "headers": headers, "body": body.decode()})
    done = subprocess.run(
        [node, str(JS / "verify.mjs")],
        check=False,
        input=given,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(done.stdout) if done.returncode == 0 else done.stderr


def _set(desk: Desk, url: str, scheme: str | None) -> dict[str, Any]:
    body = {"url": url} | ({"scheme": scheme} if scheme else {})
    answer = desk.client.put("/v1/webhook", json=body, headers=bearer(desk.key))
    assert answer.status_code == 200, answer.text
    shown: dict[str, Any] = answer.json()
    return shown


def test_the_scheme_is_chosen_with_the_webhook_and_shown(desk: Desk) -> None:
    shown = _set(desk, "http://127.0.0.1:9/hook", None)
    assert shown["scheme"] == "trustdesk" and shown["secret"].startswith("whsec_")
    standard = _set(desk, "http://127.0.0.1:9/hook", "standard-webhooks")
    assert standard["scheme"] == "standard-webhooks"
    standardwebhooks.Webhook(standard["secret"])  # the library takes the secret as it is
    assert desk.get("/v1/webhook").json()["scheme"] == "standard-webhooks"
    assert "secret" not in desk.get("/v1/webhook").json()
    answer = desk.client.put(
        "/v1/webhook",
        json={"url": "http://127.0.0.1:9/hook", "scheme": "v2"},
        headers=bearer(desk.key),
    )
    assert_problem(answer, 422, "invalid_request")


def test_a_real_delivery_verifies_with_the_python_and_javascript_libraries(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    secret = _set(desk, receiver.url, "standard-webhooks")["secret"]
    assert deliver(desk, database, http).delivered == 1
    [request] = receiver.received
    headers = request.headers
    assert headers["webhook-id"] == action_id == headers["idempotency-key"]
    assert headers["webhook-signature"].startswith("v1,")
    assert "trustdesk-signature" not in headers
    python = standardwebhooks.Webhook(secret).verify(request.body, headers)
    assert python["id"] == action_id and python["type"] == "action.issued"
    assert _js_verify(secret, headers, request.body) == python
    assert standard_webhooks.verify(secret, request.body, headers) == python
    assert "cases:action:delivered" in log_types(database)
    # the receiver's check with another secret, or the body changed, fails in both libraries
    other = standard_webhooks.new_secret()
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(other).verify(request.body, headers)
    assert isinstance(_js_verify(other, headers, request.body), str)
    assert isinstance(_js_verify(secret, headers, request.body + b" "), str)


def test_a_delivery_in_trustdesk_s_scheme_is_unchanged(
    desk: Desk, database: Database, receiver: Receiver, http: Courier
) -> None:
    action_id = restrict(desk)
    secret = _set(desk, receiver.url, None)["secret"]
    assert deliver(desk, database, http).delivered == 1
    [request] = receiver.received
    assert "webhook-signature" not in request.headers
    assert verify(secret, request.body, request.headers["trustdesk-signature"])["id"] == action_id


def test_the_library_s_own_signatures_verify_here_and_ours_there() -> None:
    secret, now = standard_webhooks.new_secret(), int(time.time())
    ours = standard_webhooks.headers(secret, "msg_1", BODY, timestamp=now)
    assert standardwebhooks.Webhook(secret).verify(BODY, ours)["id"] == "a-1"
    theirs = standardwebhooks.Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, UTC), BODY)
    assert ours["webhook-signature"] == theirs
    two = ours | {"webhook-signature": f"v1,{'A' * 44} {theirs}"}  # a secret being changed
    assert standard_webhooks.verify(secret, BODY, two)["type"] == "action.issued"


@pytest.mark.parametrize("change", ["body", "secret", "timestamp", "id"])
def test_tampered_deliveries_are_refused(change: str) -> None:
    secret, now = standard_webhooks.new_secret(), int(time.time())
    headers = standard_webhooks.headers(secret, "msg_1", BODY, timestamp=now)
    body = BODY + b" " if change == "body" else BODY
    if change == "secret":
        secret = standard_webhooks.new_secret()
    if change == "timestamp":
        headers["webhook-timestamp"] = str(now + 1)
    if change == "id":
        headers["webhook-id"] = "msg_2"
    with pytest.raises(InvalidSignature, match="no signature matches"):
        standard_webhooks.verify(secret, body, headers)


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_stale_or_future_deliveries_are_refused(age: int) -> None:
    secret, now = standard_webhooks.new_secret(), int(time.time())
    headers = standard_webhooks.headers(secret, "msg_1", BODY, timestamp=now - age)
    with pytest.raises(InvalidSignature, match="300 s"):
        standard_webhooks.verify(secret, BODY, headers, now=now)
    assert standard_webhooks.verify(secret, BODY, headers, now=now - age + 300)


def test_an_exact_replay_inside_the_window_is_refused_by_the_guard() -> None:
    secret, guard, now = standard_webhooks.new_secret(), ReplayGuard(), int(time.time())
    headers = standard_webhooks.headers(secret, "msg_1", BODY, timestamp=now)
    standard_webhooks.verify(secret, BODY, headers, guard=guard)
    with pytest.raises(InvalidSignature, match="replay"):
        standard_webhooks.verify(secret, BODY, headers, guard=guard)


@pytest.mark.parametrize(
    "broken",
    [
        {},
        {"webhook-id": "m", "webhook-timestamp": "now", "webhook-signature": "v1,x"},
        {"webhook-id": "m", "webhook-timestamp": "1" * 40, "webhook-signature": "v1,x"},
        {"webhook-id": "m", "webhook-timestamp": "{now}"},
        {"webhook-id": "m", "webhook-timestamp": "{now}", "webhook-signature": "v1,x " * 5000},
        {"webhook-id": "m", "webhook-timestamp": "{now}", "webhook-signature": "\u0000\u2028"},
    ],
)
def test_malformed_headers_are_refused_clearly(broken: dict[str, str]) -> None:
    secret, now = standard_webhooks.new_secret(), str(int(time.time()))
    headers = {k: v.replace("{now}", now) for k, v in broken.items()}
    with pytest.raises(InvalidSignature):
        standard_webhooks.verify(secret, BODY, headers)


def test_a_secret_that_is_not_base64_is_refused() -> None:
    headers = standard_webhooks.headers(standard_webhooks.new_secret(), "m", BODY)
    with pytest.raises(InvalidSignature, match="not a Standard Webhooks secret"):
        standard_webhooks.verify("whsec_not*base64", BODY, headers)
