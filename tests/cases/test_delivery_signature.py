"""The signing scheme and the receiver's helper: good, tampered, stale and replayed deliveries,
and the webhook URL rules, without a server."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from trustdesk.cases.webhooks import (
    InvalidSignature,
    InvalidWebhookUrl,
    ReplayGuard,
    encode_event,
    new_secret,
    sign,
    signature_header,
    validate_url,
    verify,
)

BODY = encode_event({"id": "a-1", "type": "action.issued", "action": {"kind": "delete"}})


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    secret = new_secret()
    header = signature_header(secret, BODY, timestamp=1_700_000_000)
    expected = hmac.new(secret.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert sign(secret, 1_700_000_000, BODY) == expected
    assert verify(secret, BODY, header, now=1_700_000_100)["id"] == "a-1"


def test_a_fresh_delivery_verifies_and_a_second_secret_may_sign_too() -> None:
    old, new = new_secret(), new_secret()
    now = int(time.time())
    header = f"t={now},v1={sign(old, now, BODY)},v1={sign(new, now, BODY)}"
    assert verify(new, BODY, header)["type"] == "action.issued"
    assert verify(old, BODY, header)["type"] == "action.issued"


@pytest.mark.parametrize("change", ["body", "secret", "timestamp"])
def test_tampered_deliveries_are_refused(change: str) -> None:
    secret, now = new_secret(), int(time.time())
    header = signature_header(secret, BODY, timestamp=now)
    body = BODY + b" " if change == "body" else BODY
    if change == "secret":
        secret = new_secret()
    if change == "timestamp":  # moved after signing, to look fresh
        header = header.replace(f"t={now}", f"t={now + 1}")
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify(secret, body, header)


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_stale_or_future_timestamps_are_refused(age: int) -> None:
    secret, now = new_secret(), int(time.time())
    header = signature_header(secret, BODY, timestamp=now - age)
    with pytest.raises(InvalidSignature, match="300 s"):
        verify(secret, BODY, header, now=now)
    assert verify(secret, BODY, header, now=now - age + 300)  # inside the window: fine


def test_an_exact_replay_inside_the_window_is_refused_by_the_guard() -> None:
    secret, guard = new_secret(), ReplayGuard()
    now = int(time.time())
    first = signature_header(secret, BODY, timestamp=now)
    verify(secret, BODY, first, guard=guard)
    with pytest.raises(InvalidSignature, match="replay"):
        verify(secret, BODY, first, guard=guard)
    retry = signature_header(secret, BODY, timestamp=now + 1)  # a genuine retry: new t
    assert verify(secret, BODY, retry, now=now + 1, guard=guard)


@pytest.mark.parametrize(
    "header",
    [None, "", "t=1", "v1=" + "0" * 64, "t=abc,v1=" + "0" * 64, "t=1,v1=short", "x" * 10_000],
)
def test_malformed_headers_are_refused(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verify(new_secret(), BODY, header)


def test_secrets_are_long_and_new_each_time() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(s.startswith("whsec_") and len(s) >= 48 for s in secrets)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "https://localhost/hook",
        "http://[::1]:9000/",
        "http://hooks.localhost/",
    ],
)
def test_loopback_receivers_only_outside_production(url: str) -> None:
    assert validate_url(url, allow_loopback=True) == url
    with pytest.raises(InvalidWebhookUrl, match="own machine"):
        validate_url(url, allow_loopback=False)


def test_public_https_urls_are_accepted_anywhere() -> None:
    url = "https://hooks.example.org:8443/trustdesk/actions?tenant=7"
    assert validate_url(url, allow_loopback=False) == url
    assert validate_url("https://xn--fsqu00a.example/", allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.1/",
        "https://0x7f.0.0.1/",
        "https://2130706433/",
        "https://0.0.0.0/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::]/",
        "https://LOCALHOST./",
    ],
)
def test_disguised_loopback_addresses_are_refused_in_production(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        validate_url(url, allow_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.5/hook",
        "https://172.16.4.2/",
        "https://192.168.1.1:8443/",
        "https://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "https://100.64.0.1/",  # carrier-grade NAT
        "https://224.0.0.1/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:10.0.0.1]/",
    ],
)
def test_addresses_outside_the_public_internet_are_refused_in_production(url: str) -> None:
    assert validate_url(url, allow_loopback=True) == url  # a receiver on the office network
    with pytest.raises(InvalidWebhookUrl, match="private, link-local"):
        validate_url(url, allow_loopback=False)


def test_public_addresses_are_accepted_in_production() -> None:
    for url in ("https://8.8.8.8/hook", "https://[2001:4860:4860::8888]/"):
        assert validate_url(url, allow_loopback=False) == url
