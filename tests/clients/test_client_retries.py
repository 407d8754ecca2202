"""Retries only where safe, and bounded; the API key never in a log, a repr or an error.

A :class:`Gateway` stands for the load balancer in front of trustdesk (an outside thing):
it answers the scripted statuses first, then forwards each request to the real server.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import httpx
import pytest

from trustdesk_client import (
    Client,
    ConnectionFailed,
    RateLimited,
    Retries,
    ServiceUnavailable,
    Verdict,
)

from client_support import CHAT_KEY, CLEAN, VERIFIED, Make
from support import free_port

_HOP = ("content-encoding", "content-length", "transfer-encoding", "connection")


def _copy(answer: httpx.Response) -> httpx.Response:
    headers = [(k, v) for k, v in answer.headers.items() if k.lower() not in _HOP]
    return httpx.Response(answer.status_code, headers=headers, content=answer.content)


class Gateway(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers ``script``'s (status, headers) in turn (None: forwards that one), then
    forwards each request to the server."""

    def __init__(self, *script: tuple[int, dict[str, str]] | None) -> None:
        self.script = deque(script)
        self.seen: list[str] = []
        self.forwarded = 0

    def _scripted(self, request: httpx.Request) -> httpx.Response | None:
        self.seen.append(f"{request.method} {request.url.path}")
        scripted = self.script.popleft() if self.script else None
        if scripted is not None:
            status, headers = scripted
            return httpx.Response(status, headers=headers, text="the upstream is restarting")
        self.forwarded += 1
        return None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        scripted = self._scripted(request)
        if scripted is not None:
            return scripted
        with httpx.Client() as upstream:
            return _copy(upstream.send(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        scripted = self._scripted(request)
        if scripted is not None:
            return scripted
        async with httpx.AsyncClient() as upstream:
            return _copy(await upstream.send(request))


def test_a_get_is_retried_after_gateway_errors(make_api: Make) -> None:
    gateway = Gateway((503, {}), (502, {}))
    assert make_api(transport=gateway).service().name == "Demo Chat"
    assert gateway.seen == ["GET /v1/service"] * 3 and gateway.forwarded == 1


def test_a_post_is_not_sent_again_after_a_gateway_error(make_api: Make) -> None:
    gateway = Gateway((503, {}))
    with pytest.raises(ServiceUnavailable) as caught:
        make_api(transport=gateway).screen("m-1", CLEAN, subject=VERIFIED)
    assert caught.value.code == "http_503" and caught.value.status == 503
    assert gateway.seen == ["POST /v1/screen"]  # it may have acted: not sent twice


def test_retry_after_is_honoured_for_any_call_within_the_bound(make_api: Make) -> None:
    gateway = Gateway((429, {"Retry-After": "0"}), (503, {"Retry-After": "0"}))
    result = make_api(transport=gateway).screen("m-2", CLEAN, subject=VERIFIED)
    assert result.verdict is Verdict.ALLOW
    assert gateway.seen == ["POST /v1/screen"] * 3 and gateway.forwarded == 1

    gateway = Gateway((429, {"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as waited_too_long:
        make_api(transport=gateway).screen("m-3", CLEAN, subject=VERIFIED)
    assert waited_too_long.value.retry_after == 3600 and len(gateway.seen) == 1


def test_retries_are_bounded(make_api: Make) -> None:
    gateway = Gateway(*[(503, {})] * 10)
    with pytest.raises(ServiceUnavailable):
        make_api(transport=gateway, retries=Retries(attempts=4, backoff=0)).service()
    assert len(gateway.seen) == 4


def test_no_answer_is_a_trustdesk_error() -> None:
    port = free_port()  # nothing listens there
    client = Client(f"http://127.0.0.1:{port}", CHAT_KEY, retries=Retries(backoff=0))
    with client, pytest.raises(ConnectionFailed) as caught:
        client.service()
    assert caught.value.code == "connection_failed" and caught.value.status is None


def test_the_api_key_is_never_logged_shown_or_raised(
    served: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    said: list[Any] = []
    gateway = Gateway((429, {"Retry-After": "0"}), None, (503, {}))
    with Client(served, CHAT_KEY, transport=gateway, retries=Retries(backoff=0)) as client:
        said.append(repr(client))
        said.append(client.screen("m-4", CLEAN, subject=VERIFIED))
        with pytest.raises(ServiceUnavailable) as failed:
            client.screen("m-5", CLEAN, subject=VERIFIED)
        said.extend([failed.value, repr(failed.value), dict(client._http.headers)])
    assert "retrying POST /v1/screen" in caplog.text  # the logs were captured
    assert CHAT_KEY not in caplog.text
    assert all(CHAT_KEY not in str(thing) for thing in said)
