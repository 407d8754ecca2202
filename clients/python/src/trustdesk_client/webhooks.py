"""Verifying webhook deliveries, in either of trustdesk's two signing schemes.

**Standard Webhooks** (https://www.standardwebhooks.com/), the field's convention::

    webhook-id: <message id>            (the same on every retry)
    webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256> [v1,<...> ...]

The HMAC is over ``"{id}.{timestamp}." + body``, keyed with the base64-decoded part of the
``whsec_...`` secret; several space-separated signatures may come (a change of secret), any
one matching suffices.

**trustdesk's own** (``Trustdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``): the
HMAC is over ``"{t}." + body``, keyed with the secret's UTF-8 bytes, ``whsec_`` included;
several ``v1`` may come.

Both refuse a timestamp more than ``tolerance`` seconds from the receiver's clock (an old
delivery replayed, or one from the future), and with a :class:`ReplayGuard` an exact replay
inside that window. Comparisons are constant-time. A retry of a delivery is a new signature
(a fresh timestamp) over the same event: handle each event id at most once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from trustdesk_client.errors import WebhookVerificationError
from trustdesk_client.events import ActionEvent

TOLERANCE = 300
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix that marks secrets, not a secret
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
TRUSTDESK_HEADER = "trustdesk-signature"
MAX_HEADER = 8192  # characters of one signature header
MAX_SIGNATURES = 16
MAX_STAMP_DIGITS = 12
Scheme = Literal["standard", "trustdesk"]
Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]
Body = bytes | bytearray | memoryview | str


def _refuse(code: str, detail: str) -> WebhookVerificationError:
    return WebhookVerificationError(code, "Webhook refused", detail, status=None)


@dataclass(frozen=True, slots=True)
class VerifiedWebhook:
    """A delivery whose signature matched and was fresh. ``id`` is the message id (the
    event's id), the unit of work to handle at most once."""

    id: str
    timestamp: int
    scheme: Scheme
    payload: Mapping[str, Any] = field(repr=False)

    @property
    def type(self) -> str:
        return str(self.payload.get("type", ""))

    def action_event(self) -> ActionEvent:
        """The payload as the ``action.issued`` event (ValueError for another type)."""
        return ActionEvent.from_json(self.payload)


class ReplayGuard:
    """Remembers the signatures verified within the tolerance, to refuse an exact replay.

    Thread-safe; holds at most ``max_entries`` (the oldest go first). One process's memory:
    receivers behind several processes share a store of their own instead (or rely on
    handling each event id at most once).
    """

    def __init__(self, tolerance: int = TOLERANCE, max_entries: int = 100_000) -> None:
        self.tolerance, self.max_entries = tolerance, max_entries
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, signature: str, timestamp: int, now: int) -> None:
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.tolerance:
                self._seen.popitem(last=False)
            if signature in self._seen:
                raise _refuse("replayed", "this delivery was verified before (a replay)")
            self._seen[signature] = timestamp
            self._seen.move_to_end(signature)
            while len(self._seen) > self.max_entries:
                self._seen.popitem(last=False)


def _lower_headers(headers: Headers) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    watched = {*STANDARD_HEADERS, TRUSTDESK_HEADER}
    for raw_name, raw_value in pairs:
        name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        if name in watched and name in found:
            raise _refuse("malformed_header", f"the {name} header came more than once")
        found[name] = value
    return found


def _body_bytes(body: Body) -> bytes:
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, memoryview) and body.itemsize != 1:
        raise TypeError("the body is bytes as received")
    return bytes(body)


def standard_key(secret: str | bytes) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after ``whsec_`` (or raw bytes)."""
    if isinstance(secret, bytes):
        key = secret
    else:
        encoded = secret.removeprefix(SECRET_PREFIX).strip()
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise _refuse("invalid_secret", "the secret is not whsec_<base64>") from None
    if not key:
        raise _refuse("invalid_secret", "the secret is empty")
    return key


def sign_standard(secret: str | bytes, message_id: str, timestamp: int, body: Body) -> str:
    """The ``webhook-signature`` value ``v1,<base64>`` of a delivery (for senders and tests)."""
    signed = f"{message_id}.{timestamp}.".encode() + _body_bytes(body)
    digest = hmac.new(standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign_trustdesk(secret: str | bytes, timestamp: int, body: Body) -> str:
    """The ``v1`` hex signature of trustdesk's own scheme."""
    key = secret.encode() if isinstance(secret, str) else secret
    signed = str(timestamp).encode() + b"." + _body_bytes(body)
    return hmac.new(key, signed, hashlib.sha256).hexdigest()


def _stamp(value: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > MAX_STAMP_DIGITS:
        raise _refuse("malformed_header", "the timestamp is not a number of seconds")
    return int(value)


def _fresh(timestamp: int, now: int, tolerance: int) -> None:
    if now - timestamp > tolerance:
        raise _refuse("stale_timestamp", f"the timestamp is more than {tolerance} s old")
    if timestamp - now > tolerance:
        raise _refuse("future_timestamp", f"the timestamp is more than {tolerance} s ahead")


def _match(expected: str, offered: list[str]) -> str:
    for signature in offered:
        if hmac.compare_digest(expected.encode(), signature.encode()):
            return signature
    raise _refuse("bad_signature", "no signature matches the body and the secret")


def _standard(
    found: Mapping[str, str], body: bytes, secret: str | bytes, now: int, tolerance: int
) -> tuple[str, int, str]:
    missing = [name for name in STANDARD_HEADERS if not found.get(name)]
    if missing:
        raise _refuse("missing_header", f"the {', '.join(missing)} header is missing")
    message_id, header = found["webhook-id"], found["webhook-signature"]
    if len(header) > MAX_HEADER or len(message_id) > MAX_HEADER:
        raise _refuse("malformed_header", "a webhook header is too long")
    offered = [s for s in header.split(" ") if s.startswith("v1,")][:MAX_SIGNATURES]
    if not offered:
        raise _refuse("malformed_header", "webhook-signature holds no v1,<base64> signature")
    timestamp = _stamp(found["webhook-timestamp"].strip())
    key = standard_key(secret)
    _fresh(timestamp, now, tolerance)
    matched = _match(sign_standard(key, message_id, timestamp, body), offered)
    return message_id, timestamp, matched


def _trustdesk(
    found: Mapping[str, str], body: bytes, secret: str | bytes, now: int, tolerance: int
) -> tuple[str, int, str]:
    header = found.get(TRUSTDESK_HEADER)
    if not header:
        raise _refuse("missing_header", "the Trustdesk-Signature header is missing")
    if len(header) > MAX_HEADER:
        raise _refuse("malformed_header", "the Trustdesk-Signature header is too long")
    stamps: list[str] = []
    offered: list[str] = []
    for part in header.split(",")[: MAX_SIGNATURES + 1]:
        key, _, value = part.strip().partition("=")
        if key == "t":
            stamps.append(value)
        elif key == "v1" and len(value) == 64:
            offered.append(value.lower())
    if len(stamps) != 1 or not offered:
        raise _refuse("malformed_header", "Trustdesk-Signature is t=<seconds>,v1=<hex>")
    timestamp = _stamp(stamps[0])
    _fresh(timestamp, now, tolerance)
    matched = _match(sign_trustdesk(secret, timestamp, body), offered)
    return "", timestamp, matched


def verify_webhook(
    headers: Headers,
    body: Body,
    secret: str | bytes,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
    scheme: Scheme | None = None,
    replay_guard: ReplayGuard | None = None,
) -> VerifiedWebhook:
    """The delivery, if its signature matches ``body`` under ``secret`` and is fresh; else
    :class:`~trustdesk_client.errors.WebhookVerificationError` saying why (its ``code``).

    ``headers``: the request's headers (a mapping, or name-value pairs such as ASGI's);
    ``body``: the raw body exactly as received, before any JSON parsing; ``secret``: the one
    ``PUT /v1/webhook`` answered. ``scheme`` None picks Standard Webhooks when a
    ``webhook-signature`` header came, else trustdesk's ``Trustdesk-Signature``.
    """
    found = _lower_headers(headers)
    raw = _body_bytes(body)
    moment = int(time.time() if now is None else now)
    chosen: Scheme = scheme or ("standard" if "webhook-signature" in found else "trustdesk")
    check = _standard if chosen == "standard" else _trustdesk
    message_id, timestamp, matched = check(found, raw, secret, moment, tolerance)
    if replay_guard is not None:
        replay_guard.check(f"{chosen}:{matched}", timestamp, moment)
    try:
        payload = json.loads(raw)
    except ValueError:
        raise _refuse("invalid_body", "the signed body is not JSON") from None
    if not isinstance(payload, dict):
        raise _refuse("invalid_body", "the signed body is not a JSON object")
    event_id = message_id or str(payload.get("id", ""))
    return VerifiedWebhook(event_id, timestamp, chosen, payload)
