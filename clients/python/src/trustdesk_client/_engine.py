"""What both clients share, without I/O: the request a call makes, how its answer is read
(or raised), and when a failed attempt is tried again.

Retries are bounded (``Retries.attempts`` tries in all) and only where safe:

- no connection was made (nothing was sent): any call;
- an answer of 429 or 503 with ``Retry-After`` (the server says it did not act, and when to
  come back), if that wait is at most ``Retries.max_wait``: any call;
- 502, 503 or 504 without ``Retry-After``, or a connection lost after sending: only a call
  that is safe to repeat (GETs, and acknowledgements, which are idempotent).
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from trustdesk_client import errors
from trustdesk_client.calls import Call

T = TypeVar("T")
USER_AGENT = "trustdesk-client-python/0.1.0"
_NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_GATEWAY = frozenset({502, 503, 504})
_PROBLEM_KEYS = ("code", "title", "status")


@dataclass(frozen=True, slots=True)
class Retries:
    """At most ``attempts`` tries of a call; between them ``backoff * 2**n`` seconds (with
    jitter) or the server's ``Retry-After``, and never a wait longer than ``max_wait``."""

    attempts: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff < 0 or self.max_wait < 0:
            raise ValueError("attempts is at least 1; backoff and max_wait are not negative")

    def _backoff(self, attempt: int) -> float:
        return min(self.max_wait, self.backoff * 2.0**attempt * random.uniform(0.5, 1.0))  # noqa: S311

    def after_answer(self, call: Call[Any], response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before trying ``call`` again after this answer; None: do not."""
        if attempt + 1 >= self.attempts:
            return None
        status = response.status_code
        if status in (429, 503):
            wait = retry_after(response.headers)
            if wait is not None:
                return wait if wait <= self.max_wait else None
        if status in _GATEWAY and call.idempotent:
            return self._backoff(attempt)
        return None

    def after_failure(
        self, call: Call[Any], error: httpx.TransportError, attempt: int
    ) -> float | None:
        """Seconds to wait before trying ``call`` again after no answer; None: do not."""
        if attempt + 1 >= self.attempts:
            return None
        if isinstance(error, _NOTHING_SENT) or call.idempotent:
            return self._backoff(attempt)
        return None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """The ``Retry-After`` header's wait in seconds (a number or an HTTP date), if any."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def build(http: httpx.Client | httpx.AsyncClient, call: Call[Any], api_key: str) -> httpx.Request:
    headers = dict(call.headers)
    if call.authenticated:
        headers["Authorization"] = f"Bearer {api_key}"
    return http.build_request(
        call.method,
        call.path,
        params=call.params or None,
        json=call.body,
        headers=headers,
    )


def _decoded(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    return json.loads(response.content)


def problem(response: httpx.Response) -> errors.TrustdeskError:
    """The exception for an error answer: its problem document's fields, or (from a proxy
    that answers otherwise) its status with a code made of it."""
    status = response.status_code
    kind = errors.error_class(status)
    try:
        data = _decoded(response)
    except ValueError:
        data = None
    if isinstance(data, Mapping) and all(k in data for k in _PROBLEM_KEYS):
        found = data.get("errors") or ()
        error = kind(
            str(data["code"]),
            str(data["title"]),
            None if data.get("detail") is None else str(data["detail"]),
            status=status,
            field=None if data.get("field") is None else str(data["field"]),
            errors=tuple(e for e in found if isinstance(e, Mapping)),
        )
    else:
        phrase = response.reason_phrase or "Error"
        error = kind(f"http_{status}", phrase, status=status)
    if isinstance(error, errors.RateLimited | errors.ServiceUnavailable):
        error.retry_after = retry_after(response.headers)
    return error


def answer(call: Call[T], response: httpx.Response) -> T:
    """What ``call`` reads from a final answer, or the error it raises."""
    if not response.is_success:
        error = problem(response)
        if call.absent is not None and error.code == call.absent:
            return call.read(None)
        raise error
    try:
        return call.read(_decoded(response))
    except (ValueError, TypeError, KeyError) as exc:
        raise errors.UnexpectedAnswer(
            "unexpected_answer",
            "The answer is not what the route documents",
            f"{call.method} {call.path}: {exc}",
            status=response.status_code,
        ) from None


def unreachable(call: Call[Any], error: httpx.TransportError) -> errors.ConnectionFailed:
    kind = "timeout" if isinstance(error, httpx.TimeoutException) else "connection_failed"
    return errors.ConnectionFailed(
        kind, "No answer from trustdesk", f"{call.method} {call.path}: {type(error).__name__}"
    )
