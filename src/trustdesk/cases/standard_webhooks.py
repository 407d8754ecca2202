"""Deliveries signed the Standard Webhooks way, for receivers that verify with its libraries.

trustdesk's own scheme (:mod:`trustdesk.cases.webhooks`, ``Trustdesk-Signature``) is a shape
every receiver must check by hand. A service may choose instead the Standard Webhooks
specification (https://www.standardwebhooks.com, ``PUT /v1/webhook`` with ``"scheme":
"standard-webhooks"``), which maintained libraries verify in Python, JavaScript, Go, Rust,
Java and others::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <action id>
    webhook-id: <action id>
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256>

The signature is ``HMAC-SHA256(key=<the secret's bytes>, message=<webhook-id> + "." +
<webhook-timestamp> + "." + <the raw body bytes>)``, base64-encoded (standard alphabet,
padded), after ``v1,``. The secret is ``whsec_`` and the base64 of 32 random bytes; the key
is those bytes (the base64 after the prefix, decoded). The header may carry several
signatures separated by spaces (a change of secret); any one matching suffices. A receiver
refuses a timestamp more than five minutes from its clock, and treats ``webhook-id`` as the
unit of work (a retry carries the same id, a fresh timestamp and signature).

:func:`verify` is this scheme's check for receivers written in Python without the library,
and for the tests, which hold it and :func:`headers` against the ``standardwebhooks``
packages of Python and JavaScript.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any

from trustdesk.cases.webhooks import (
    SECRET_PREFIX,
    TOLERANCE_SECONDS,
    InvalidSignature,
    ReplayGuard,
)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_BYTES = 32
MAX_SIGNATURES = 16  # signatures read from one header, at most


class Scheme(enum.StrEnum):
    """How a service's deliveries are signed (chosen with its webhook)."""

    TRUSTDESK = "trustdesk"  # Trustdesk-Signature: t=..,v1=<hex>
    STANDARD = "standard-webhooks"  # webhook-id, webhook-timestamp, webhook-signature


def new_secret() -> str:
    """A fresh secret in the specification's form: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignature("this secret is not a Standard Webhooks secret") from exc


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One signature, ``v1,<base64>``, over ``message_id.timestamp.body``."""
    message = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(
    secret: str, message_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers of a delivery (a fresh timestamp unless one is given)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(moment),
        SIGNATURE_HEADER: sign(secret, message_id, moment, body),
    }


def _header(received: Mapping[str, str], name: str) -> str:
    value = next((v for k, v in received.items() if k.lower() == name), None)
    if not value:
        raise InvalidSignature(f"the {name} header is missing")
    return value


def verify(
    secret: str,
    body: bytes,
    received: Mapping[str, str],
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
    guard: ReplayGuard | None = None,
) -> dict[str, Any]:
    """The event of a delivery whose signature is good and fresh; else
    :class:`InvalidSignature`. ``received``: the request's headers (any case)."""
    message_id = _header(received, ID_HEADER)
    stamp = _header(received, TIMESTAMP_HEADER)
    if not stamp.isdigit() or len(stamp) > 12:
        raise InvalidSignature(f"the {TIMESTAMP_HEADER} header is not unix seconds")
    timestamp = int(stamp)
    moment = int(time.time() if now is None else now)
    if abs(moment - timestamp) > tolerance:
        raise InvalidSignature(f"the signature's timestamp is more than {tolerance} s away")
    expected = sign(secret, message_id, timestamp, body).encode()
    offered = _header(received, SIGNATURE_HEADER).split(" ")[:MAX_SIGNATURES]
    match = next((s for s in offered if hmac.compare_digest(s.encode(), expected)), None)
    if match is None:
        raise InvalidSignature("no signature matches the body")
    if guard is not None:
        guard.check(timestamp, match, moment)
    event: dict[str, Any] = json.loads(body)
    return event
