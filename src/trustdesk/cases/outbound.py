"""Calling a webhook: a host name resolved once and vetted, a hard deadline per attempt.

:class:`AddressGuard` resolves a webhook's host with an injectable :class:`Resolver` (by
default :func:`socket.getaddrinfo`) and, in production, refuses it unless every address it
resolves to is a public one (:func:`trustdesk.cases.addresses.refusal`). :class:`PinnedBackend`
is the httpcore network backend that does this when a connection opens and then connects to
the vetted address itself: there is no second lookup for a rebinding name server to answer
differently, while the ``Host`` header, TLS SNI and the certificate check still use the name.

:class:`Courier` sends one attempt under a hard deadline covering all of it (the lookup,
connecting, TLS, sending, and the answer's status line and headers), so a receiver that
drips its answer a byte at a time holds one attempt for the deadline and no longer.

Refusals say the same thing whether a name resolves inward or not at all, so a tenant cannot
use webhooks to learn which names exist inside the operator's network; the operator's log
has the addresses.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import anyio.to_thread
import httpcore
import httpx

from trustdesk.cases.addresses import IPAddress, parse, refusal
from trustdesk.cases.webhooks import InvalidWebhookUrl

log = logging.getLogger("trustdesk.webhooks")
KEEPALIVE_SECONDS = 5.0


class Resolver(Protocol):
    """Turns a host name into the addresses to connect to (a slow or failing one raises)."""

    def __call__(self, host: str, port: int) -> Iterable[str]: ...


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer (``getaddrinfo``), in its order, each address once."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class HostRefused(InvalidWebhookUrl):
    """The webhook's host does not resolve, or resolves to an address outside the internet."""

    code = "webhook_host_refused"
    PUBLIC = "the webhook's host must resolve to public internet addresses only"

    def __init__(self, detail: str) -> None:
        super().__init__(self.PUBLIC)
        self.detail = detail  # for the operator's log: the name and what it resolved to


@dataclass(frozen=True, slots=True)
class AddressGuard:
    """Where webhooks may connect: public addresses only, unless ``allow_internal``."""

    allow_internal: bool
    resolver: Resolver = system_resolver

    def vet(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to for ``host``; :class:`HostRefused` if any is refused."""
        literal = parse(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                answers = list(self.resolver(host, port))
            except (OSError, UnicodeError) as exc:
                raise HostRefused(f"{host} does not resolve ({exc})") from exc
            parsed = [parse(answer) for answer in answers]
            addresses = [address for address in parsed if address is not None]
            if not addresses or len(addresses) != len(answers):
                raise HostRefused(f"{host} resolves to no usable address ({answers!r})")
        if not self.allow_internal:
            for address in addresses:
                why = refusal(address)
                if why is not None:
                    raise HostRefused(f"{host} resolves to {address} ({why})")
        return addresses

    def check_url(self, url: str) -> None:
        """Registration's check of a URL's host, in production (resolved on every attempt too).

        Outside production any address is allowed, so nothing is looked up yet.
        """
        if self.allow_internal:
            return
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self.vet(parts.hostname or "", port)


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Opens a connection only to an address the guard vetted, found by one lookup."""

    def __init__(
        self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        # In a thread, so the attempt's deadline also cuts a name server that never answers.
        addresses = await anyio.to_thread.run_sync(
            self.guard.vet, host, port, abandon_on_cancel=True
        )
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address),  # a number: nothing is looked up again
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # vet() answers at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise HostRefused(f"a webhook never connects to a local socket ({path})")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


@dataclass(frozen=True, slots=True)
class Sent:
    """An attempt's outcome: ``error`` is None for a 2xx; ``unreachable`` when no answer came
    (the service is skipped until the next round); ``final`` when retrying cannot help."""

    error: str | None = None
    unreachable: bool = False
    final: bool = False


@dataclass(frozen=True)
class Courier:
    """How attempts go out: the guard, the hard deadline of one attempt, TLS settings."""

    guard: AddressGuard
    deadline: float = 10.0
    user_agent: str = "trustdesk (webhook)"
    ssl_context: ssl.SSLContext = field(
        default_factory=lambda: httpx.create_ssl_context(trust_env=False)
    )

    def pool(self, connections: int = 10) -> httpcore.AsyncConnectionPool:
        """A connection pool for one event loop (open it with ``async with``)."""
        return httpcore.AsyncConnectionPool(
            ssl_context=self.ssl_context,
            max_connections=connections,
            max_keepalive_connections=connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
            http1=True,
            http2=False,
            retries=0,
            network_backend=PinnedBackend(self.guard),
        )

    async def send(
        self,
        pool: httpcore.AsyncConnectionPool,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Sent:
        """POST ``body``; the answer's status decides, its body is never read."""
        parts = urlsplit(url)
        sent = {"Host": parts.netloc, "User-Agent": self.user_agent, **headers}
        limit = {"connect": self.deadline, "read": self.deadline, "write": self.deadline}
        try:
            async with (
                asyncio.timeout(self.deadline),
                pool.stream(
                    "POST",
                    url,
                    headers=list(sent.items()),
                    content=body,
                    extensions={"timeout": {**limit, "pool": self.deadline}},
                ) as response,
            ):
                status = response.status
        except TimeoutError:  # the deadline cut the attempt, wherever it was
            return Sent(f"timeout: no answer within {self.deadline:g} s", unreachable=True)
        except httpcore.TimeoutException as exc:
            return Sent(f"timeout ({type(exc).__name__})", unreachable=True)
        except HostRefused as exc:
            log.warning("webhook refused: %s", exc.detail)
            return Sent(f"refused: {exc.message}", unreachable=True)
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            return Sent(f"network error ({type(exc).__name__})", unreachable=True)
        return _judged(status)


def _judged(status: int) -> Sent:
    if 200 <= status < 300:
        return Sent()
    if 300 <= status < 400:
        return Sent(f"HTTP {status} (redirects are not followed)")
    return Sent(f"HTTP {status}")
