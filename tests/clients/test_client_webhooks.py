"""The client's webhook verification: Standard Webhooks checked against the reference
``standardwebhooks`` library byte for byte, trustdesk's scheme against the server's signer,
and every refusal (tampered, wrong secret, old, future, replayed, malformed)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import standardwebhooks
from hypothesis import given, settings
from hypothesis import strategies as st

from trustdesk.cases import webhooks as server_webhooks
from trustdesk_client import (
    ReplayGuard,
    WebhookVerificationError,
    sign_standard,
    sign_trustdesk,
    verify_webhook,
)

NOW = 1_800_000_000
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BODY = b'{"id":"e-1","type":"action.issued"}'


def standard_headers(body: bytes, *, secret: str = SECRET, stamp: int = NOW) -> dict[str, str]:
    """Headers as the reference library signs them."""
    moment = datetime.fromtimestamp(stamp, tz=UTC)
    signature = standardwebhooks.Webhook(secret).sign("msg_1", moment, body)
    return {"webhook-id": "msg_1", "webhook-timestamp": str(stamp), "webhook-signature": signature}


def refused(code: str, *args: object, **kwargs: object) -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(*args, **kwargs)  # type: ignore[arg-type]
    assert caught.value.code == code, caught.value


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=64),
    message_id=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40),
    body=st.binary(max_size=300),
    stamp=st.integers(min_value=0, max_value=4_000_000_000),
)
def test_standard_signatures_agree_with_the_reference_library(
    key: bytes, message_id: str, body: bytes, stamp: int
) -> None:
    secret = "whsec_" + base64.b64encode(key).decode()
    moment = datetime.fromtimestamp(stamp, tz=UTC)
    theirs = standardwebhooks.Webhook(secret).sign(message_id, moment, body)
    assert sign_standard(secret, message_id, stamp, body) == theirs
    assert sign_standard(key, message_id, stamp, body) == theirs  # a raw key, the same


def test_standard_deliveries_verify_both_ways() -> None:
    body = b'{"id":"e-1","type":"action.issued","caf\xc3\xa9":1}'
    verified = verify_webhook(standard_headers(body), body, SECRET, now=NOW + 10)
    assert verified.scheme == "standard" and verified.id == "msg_1"
    assert verified.timestamp == NOW and verified.payload["id"] == "e-1"

    stamp = int(datetime.now(UTC).timestamp())  # the library checks against its own clock
    ours = {
        "webhook-id": "msg_2",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard(SECRET, "msg_2", stamp, body),
    }
    assert standardwebhooks.Webhook(SECRET).verify(body, ours)["id"] == "e-1"


def test_any_one_of_several_standard_signatures_suffices() -> None:
    headers = standard_headers(BODY)
    other = sign_standard("whsec_" + base64.b64encode(b"old").decode(), "msg_1", NOW, BODY)
    headers["webhook-signature"] = f"v1a,c29tZXRoaW5n {other} {headers['webhook-signature']}"
    assert verify_webhook(headers, BODY, SECRET, now=NOW).id == "msg_1"


def test_standard_refusals() -> None:
    headers = standard_headers(BODY)
    refused("bad_signature", headers, BODY.replace(b"e-1", b"e-2"), SECRET, now=NOW)
    wrong = "whsec_" + base64.b64encode(b"w" * 32).decode()
    refused("bad_signature", headers, BODY, wrong, now=NOW)
    refused("stale_timestamp", headers, BODY, SECRET, now=NOW + 301)
    refused("future_timestamp", headers, BODY, SECRET, now=NOW - 301)
    assert verify_webhook(headers, BODY, SECRET, now=NOW + 300).id == "msg_1"  # the edge
    refused("stale_timestamp", headers, BODY, SECRET, now=NOW + 61, tolerance=60)
    refused("missing_header", {"webhook-signature": "v1,x"}, BODY, SECRET, now=NOW)
    refused("malformed_header", {**headers, "webhook-timestamp": "12.5"}, BODY, SECRET, now=NOW)
    refused("malformed_header", {**headers, "webhook-signature": "v2,abc"}, BODY, SECRET, now=NOW)
    refused("invalid_secret", headers, BODY, "whsec_not*base64!", now=NOW)
    refused("invalid_secret", headers, BODY, "whsec_", now=NOW)
    twice = [*headers.items(), ("Webhook-Signature", headers["webhook-signature"])]
    refused("malformed_header", twice, BODY, SECRET, now=NOW)
    not_json = b"not json"
    refused("invalid_body", standard_headers(not_json), not_json, SECRET, now=NOW)


def test_an_exact_replay_is_refused_but_a_fresh_retry_is_not() -> None:
    guard = ReplayGuard()
    headers = standard_headers(BODY)
    verify_webhook(headers, BODY, SECRET, now=NOW, replay_guard=guard)
    refused("replayed", headers, BODY, SECRET, now=NOW + 5, replay_guard=guard)
    retry = standard_headers(BODY, stamp=NOW + 10)  # the same message, signed again later
    assert verify_webhook(retry, BODY, SECRET, now=NOW + 10, replay_guard=guard).id == "msg_1"


def test_asgi_style_headers_are_read() -> None:
    raw = [(k.title().encode(), v.encode()) for k, v in standard_headers(BODY).items()]
    assert verify_webhook(raw, BODY, SECRET, now=NOW).scheme == "standard"


def test_trustdesk_signatures_agree_with_the_server_signer() -> None:
    secret = server_webhooks.new_secret()  # whsec_ and URL-safe base64: the key is the string
    header = server_webhooks.signature_header(secret, BODY, timestamp=NOW)
    verified = verify_webhook({"Trustdesk-Signature": header}, BODY, secret, now=NOW + 1)
    assert verified.scheme == "trustdesk" and verified.id == "e-1"
    assert header == f"t={NOW},v1={sign_trustdesk(secret, NOW, BODY)}"
    assert server_webhooks.verify(
        secret, BODY, f"t={NOW},v1={sign_trustdesk(secret, NOW, BODY)}", now=NOW
    )


def test_trustdesk_refusals() -> None:
    secret = server_webhooks.new_secret()
    header = {"Trustdesk-Signature": server_webhooks.signature_header(secret, BODY, timestamp=NOW)}
    refused("bad_signature", header, BODY + b" ", secret, now=NOW)
    refused("bad_signature", header, BODY, server_webhooks.new_secret(), now=NOW)
    refused("stale_timestamp", header, BODY, secret, now=NOW + 301)
    refused("future_timestamp", header, BODY, secret, now=NOW - 301)
    refused("missing_header", {}, BODY, secret, now=NOW)
    refused("malformed_header", {"Trustdesk-Signature": "t=abc,v1=" + "0" * 64}, BODY, secret)
    refused("malformed_header", {"Trustdesk-Signature": f"t={NOW}"}, BODY, secret, now=NOW)
    two_stamps = f"t={NOW},t={NOW + 1},v1={sign_trustdesk(secret, NOW, BODY)}"
    refused("malformed_header", {"Trustdesk-Signature": two_stamps}, BODY, secret, now=NOW)
    refused("malformed_header", {"Trustdesk-Signature": "x" * 9000}, BODY, secret, now=NOW)
    rotated = f"t={NOW},v1={'0' * 64},v1={sign_trustdesk(secret, NOW, BODY)}"
    assert verify_webhook({"Trustdesk-Signature": rotated}, BODY, secret, now=NOW).id == "e-1"
    guard = ReplayGuard()
    verify_webhook(header, BODY, secret, now=NOW, replay_guard=guard)
    refused("replayed", header, BODY, secret, now=NOW, replay_guard=guard)


def test_the_replay_guard_forgets_what_is_past_the_tolerance_and_stays_bounded() -> None:
    guard = ReplayGuard(tolerance=10, max_entries=3)
    for n in range(5):
        guard.check(f"s{n}", NOW, NOW)
    assert len(guard._seen) == 3
    guard.check("s0", NOW, NOW)  # evicted by the bound: a stale one is refused by its time
    guard.check("later", NOW + 20, NOW + 20)
    assert list(guard._seen) == ["later"]
    with pytest.raises(WebhookVerificationError):
        guard.check("later", NOW + 20, NOW + 21)
