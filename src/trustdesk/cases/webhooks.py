"""Webhooks: the URL rules, the signing scheme, and the retry schedule (pure logic).

Each action reaches its service as one HTTP ``POST`` of a JSON event to the URL the
service set with ``PUT /v1/webhook``::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <action id>
    Trustdesk-Event-Id: <action id>
    Trustdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>

The signature is ``HMAC-SHA256(key=<the secret's UTF-8 bytes, "whsec_..." as shown>,
message=<t> + "." + <the raw body bytes>)`` in lower-case hex; ``t`` is the moment of
sending, so every attempt carries a fresh ``t`` and ``v1`` while the body and the
idempotency key stay the same. A receiver (see :func:`verify`):

1. splits the header on ``,`` into ``key=value`` pairs (more than one ``v1`` may come, to
   allow a change of secret; any one matching suffices);
2. computes the HMAC over the ``t`` it received, a ``.``, and the body exactly as received,
   and compares in constant time;
3. refuses a ``t`` more than five minutes away from its own clock (a replay of an old
   delivery), and may remember the ``(t, v1)`` pairs it saw in that window to refuse an
   exact replay within it (:class:`ReplayGuard`);
4. treats the event id (= the idempotency key) as the unit of work: a retry of an event it
   already handled is answered 2xx and not acted on twice.

A 2xx answer marks the action delivered; the service then confirms it acted with
``POST /v1/actions/{id}/ack``. Anything else (a network error, a timeout, a redirect, which
is never followed, or any other status) is retried after :meth:`Backoff.delay`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import random
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from trustdesk.cases.addresses import IPAddress, parse, refusal
from trustdesk.errors import InvalidInput, Unauthenticated

SIGNATURE_HEADER = "Trustdesk-Signature"
EVENT_ID_HEADER = "Trustdesk-Event-Id"
IDEMPOTENCY_HEADER = "Idempotency-Key"
EVENT_TYPE = "action.issued"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix that marks secrets, not a secret
TOLERANCE_SECONDS = 300
MAX_URL_LENGTH = 2000
LOOPBACK_NAMES = frozenset({"localhost", "localhost."})


class InvalidWebhookUrl(InvalidInput):
    code = "invalid_webhook_url"


class InvalidSignature(Unauthenticated):
    """The signature header is missing, malformed, wrong, or too old (a replay)."""

    code = "invalid_signature"


def new_secret() -> str:
    """A fresh signing secret: 256 random bits, shown to the service once."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _address(host: str) -> IPAddress | None:
    address = parse(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback(host: str) -> bool:
    """A name or address that reaches this machine (0.0.0.0 and ::ffff:127.0.0.1 too)."""
    name = host.lower().rstrip(".")
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    address = _address(name)
    return address is not None and (address.is_loopback or address.is_unspecified)


def _odd_number(host: str) -> bool:
    """An IPv4 address in a form resolvers accept but people misread (127.1, 0x7f.1, 2130706433)."""
    labels = host.rstrip(".").split(".")
    if not all(re.fullmatch(r"0x[0-9a-f]*|[0-9]+", label) for label in labels):
        return False
    address = _address(host)
    return address is None or str(address) != host


def validate_url(url: str, *, allow_loopback: bool) -> str:
    """``url`` if trustdesk may POST to it; :class:`InvalidWebhookUrl` saying why not.

    ``https`` to a named or numbered host, no user name or password, no fragment, printable
    ASCII (an internationalised host name goes in its ``xn--`` form). ``http`` is accepted
    only for a loopback host (a receiver on the same machine), and loopback hosts and
    numbered hosts outside the public internet only where ``allow_loopback`` (outside
    production): a tenant must not make the server call its own ports or its network's.
    A name is not resolved here: :class:`trustdesk.cases.outbound.AddressGuard` resolves and
    vets it at registration and again on every attempt.
    """
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"a webhook URL is at most {MAX_URL_LENGTH} characters")
    if not url or not url.isascii() or not url.isprintable() or " " in url:
        raise InvalidWebhookUrl("a webhook URL is printable ASCII without spaces")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"https", "http"}:
        raise InvalidWebhookUrl("a webhook URL starts with https://")
    if "@" in parts.netloc:
        raise InvalidWebhookUrl("a webhook URL carries no user name or password")
    if parts.fragment or url.endswith("#"):
        raise InvalidWebhookUrl("a webhook URL has no #fragment")
    host = parts.hostname or ""
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked for it
    except ValueError as exc:
        raise InvalidWebhookUrl("the webhook URL's port is not a number from 1 to 65535") from exc
    if not host or host.startswith(".") or ".." in host:
        raise InvalidWebhookUrl("a webhook URL names a host")
    if _odd_number(host):
        raise InvalidWebhookUrl("write an IP address in its usual dotted form")
    if is_loopback(host):
        if not allow_loopback:
            raise InvalidWebhookUrl("a webhook may not point at this server's own machine")
    elif scheme != "https":
        raise InvalidWebhookUrl("a webhook URL uses https (http only to a loopback receiver)")
    elif not allow_loopback and _internal(host):
        msg = "a webhook may not point at a private, link-local, shared or reserved address"
        raise InvalidWebhookUrl(msg)
    return url


def _internal(host: str) -> bool:
    """A numbered host outside the public internet (private networks, link-local addresses
    such as a cloud's metadata service, carrier-grade NAT, multicast, reserved ranges, and
    IPv4 ones inside IPv6: see :mod:`trustdesk.cases.addresses`)."""
    address = parse(host)
    return address is not None and refusal(address) is not None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``v1`` signature: hex HMAC-SHA256 over ``timestamp + "." + body``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={sign(secret, moment, body)}"


@dataclass
class ReplayGuard:
    """Remembers the signatures seen within the tolerance, to refuse an exact replay."""

    tolerance: int = TOLERANCE_SECONDS
    seen: dict[str, int] = field(default_factory=dict)

    def check(self, timestamp: int, signature: str, now: int) -> None:
        self.seen = {s: t for s, t in self.seen.items() if t >= now - self.tolerance}
        if signature in self.seen:
            raise InvalidSignature("this delivery was seen before (a replay)")
        self.seen[signature] = timestamp


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(",")[:16]:
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == "v1" and len(value) == 64:
            signatures.append(value.lower())
    if timestamp is None or not signatures:
        raise InvalidSignature(f"{SIGNATURE_HEADER} needs t=<seconds> and v1=<hex signature>")
    return timestamp, signatures


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
    guard: ReplayGuard | None = None,
) -> dict[str, Any]:
    """The event of a delivery whose signature is good and fresh; else :class:`InvalidSignature`.

    For receivers (and tests): pass the secret shown by ``PUT /v1/webhook``, the raw body
    bytes, and the ``Trustdesk-Signature`` header.
    """
    if not header:
        raise InvalidSignature(f"the {SIGNATURE_HEADER} header is missing")
    timestamp, signatures = _parse(header)
    moment = int(time.time() if now is None else now)
    if abs(moment - timestamp) > tolerance:
        raise InvalidSignature(f"the signature's timestamp is more than {tolerance} s away")
    expected = sign(secret, timestamp, body)
    match = next((s for s in signatures if hmac.compare_digest(s, expected)), None)
    if match is None:
        raise InvalidSignature("no signature matches the body")
    if guard is not None:
        guard.check(timestamp, match, moment)
    event: dict[str, Any] = json.loads(body)
    return event


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The body sent: compact JSON, keys sorted, UTF-8 (the same bytes on every attempt)."""
    return json.dumps(event, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: ``base * 2**(n-1)`` capped, minus up to ``jitter``.

    With the defaults the waits after attempts 1, 2, 3 ... are about 10 s, 20 s, 40 s ...
    up to an hour; each is drawn from ``[(1 - jitter) * d, d]``, so every wait is still
    longer than the one before until the cap, and workers that failed together spread out.
    """

    base: float = 10.0
    cap: float = 3600.0
    jitter: float = 0.2
    draw: Callable[[], float] = random.random

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th attempt (1-based) failed."""
        ceiling = min(self.cap, self.base * 2.0 ** min(max(attempt, 1) - 1, 32))
        return ceiling * (1 - self.jitter * self.draw())
