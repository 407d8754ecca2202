"""The two clients: :class:`Client` (blocking) and :class:`AsyncClient` (asyncio).

Both expose the same operations, each made once in :mod:`trustdesk_client.calls` and bound
here by :func:`_blocking` or :func:`_awaiting`: the clients differ only in how they send.
The API key goes in each request's ``Authorization`` header and nowhere else: not in the
clients' ``repr``, their errors or their logs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, Self, TypeVar

import httpx

from trustdesk_client import _engine, calls
from trustdesk_client._engine import Retries
from trustdesk_client.calls import Call
from trustdesk_client.events import Action

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("trustdesk_client")
DEFAULT_TIMEOUT = 10.0


class _Sends(Protocol):
    def _send(self, call: Call[T]) -> T: ...


class _AwaitsSend(Protocol):
    async def _send(self, call: Call[T]) -> T: ...


def _blocking(build: Callable[P, Call[T]]) -> Callable[Concatenate[_Sends, P], T]:
    """The blocking client's method for the operation ``build`` describes."""

    @functools.wraps(build)
    def method(self: _Sends, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._send(build(*args, **kwargs))

    return method


def _awaiting(build: Callable[P, Call[T]]) -> Callable[Concatenate[_AwaitsSend, P], Awaitable[T]]:
    """The asynchronous client's method for the operation ``build`` describes."""

    @functools.wraps(build)
    async def method(self: _AwaitsSend, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._send(build(*args, **kwargs))

    return method


def _settings(
    base_url: str, timeout: float | httpx.Timeout, user_agent: str | None
) -> dict[str, Any]:
    if not base_url.startswith(("http://", "https://")):
        raise ValueError("base_url starts with http:// or https://")
    agent = _engine.USER_AGENT if user_agent is None else f"{user_agent} {_engine.USER_AGENT}"
    return {
        "base_url": base_url.rstrip("/"),
        "timeout": timeout,
        "headers": {"User-Agent": agent, "Accept": "application/json"},
        "follow_redirects": False,
    }


def _check_key(api_key: str) -> str:
    if not api_key or api_key != api_key.strip() or not api_key.isprintable():
        raise ValueError("api_key is the service's key (td_...), without spaces")
    return api_key


class Client:
    """A blocking client of trustdesk's HTTP API, for one service (its API key).

    ``transport`` replaces httpx's (a proxy, a test's); ``retries`` bounds the tries of a
    call (see :class:`Retries`). Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        retries: Retries | None = None,
        user_agent: str | None = None,
    ) -> None:
        self.__key = _check_key(api_key)
        self.retries = retries or Retries()
        self._http = httpx.Client(transport=transport, **_settings(base_url, timeout, user_agent))
        self.base_url = str(self._http.base_url)

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            request = _engine.build(self._http, call, self.__key)
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                wait = self.retries.after_failure(call, exc, attempt)
                if wait is None:
                    raise _engine.unreachable(call, exc) from None
            else:
                wait = self.retries.after_answer(call, response, attempt)
                if wait is None:
                    return _engine.answer(call, response)
            attempt += 1
            log.debug(
                "retrying %s %s in %.2f s (try %d)", call.method, call.path, wait, attempt + 1
            )
            time.sleep(wait)

    service = _blocking(calls.service)
    screen = _blocking(calls.screen)
    screen_batch = _blocking(calls.screen_batch)
    register_identity = _blocking(calls.register_identity)
    get_identity = _blocking(calls.get_identity)
    delete_identity = _blocking(calls.delete_identity)
    submit_notice = _blocking(calls.submit_notice)
    notice_outcome = _blocking(calls.notice_outcome)
    register_flagger = _blocking(calls.register_flagger)
    actions = _blocking(calls.actions)
    ack = _blocking(calls.ack)
    get_webhook = _blocking(calls.get_webhook)
    set_webhook = _blocking(calls.set_webhook)
    delete_webhook = _blocking(calls.delete_webhook)

    def iter_actions(self, status: str | None = None, *, page_size: int = 100) -> Iterator[Action]:
        """Every action of ``status``, oldest first, a page at a time."""
        after: str | None = None
        while True:
            page = self.actions(status, after=after, limit=page_size)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1].id


class AsyncClient:
    """The asynchronous client: the same operations as :class:`Client`, awaited."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        retries: Retries | None = None,
        user_agent: str | None = None,
    ) -> None:
        self.__key = _check_key(api_key)
        self.retries = retries or Retries()
        self._http = httpx.AsyncClient(
            transport=transport, **_settings(base_url, timeout, user_agent)
        )
        self.base_url = str(self._http.base_url)

    def __repr__(self) -> str:
        return f"AsyncClient({self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            request = _engine.build(self._http, call, self.__key)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                wait = self.retries.after_failure(call, exc, attempt)
                if wait is None:
                    raise _engine.unreachable(call, exc) from None
            else:
                wait = self.retries.after_answer(call, response, attempt)
                if wait is None:
                    return _engine.answer(call, response)
            attempt += 1
            log.debug(
                "retrying %s %s in %.2f s (try %d)", call.method, call.path, wait, attempt + 1
            )
            await asyncio.sleep(wait)

    service = _awaiting(calls.service)
    screen = _awaiting(calls.screen)
    screen_batch = _awaiting(calls.screen_batch)
    register_identity = _awaiting(calls.register_identity)
    get_identity = _awaiting(calls.get_identity)
    delete_identity = _awaiting(calls.delete_identity)
    submit_notice = _awaiting(calls.submit_notice)
    notice_outcome = _awaiting(calls.notice_outcome)
    register_flagger = _awaiting(calls.register_flagger)
    actions = _awaiting(calls.actions)
    ack = _awaiting(calls.ack)
    get_webhook = _awaiting(calls.get_webhook)
    set_webhook = _awaiting(calls.set_webhook)
    delete_webhook = _awaiting(calls.delete_webhook)

    async def iter_actions(
        self, status: str | None = None, *, page_size: int = 100
    ) -> AsyncIterator[Action]:
        """Every action of ``status``, oldest first, a page at a time."""
        after: str | None = None
        while True:
            page = await self.actions(status, after=after, limit=page_size)
            for action in page:
                yield action
            if len(page) < page_size:
                return
            after = page[-1].id
