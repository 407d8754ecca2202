"""Request limits: body size (a 413 problem document) and control characters in URLs (400).

FastAPI's own ``max_body_size`` answers a declared oversize ``Content-Length`` in plain
text, so trustdesk keeps this small middleware: a declared size over the limit is refused
before the route runs; a streamed body that grows past it raises :class:`BodyTooLarge`,
an ``HTTPException`` that the problem handlers turn into the same 413 document. Upload
routes get limits of their own (patterns of paths), and an application mounted below a
``checked_below`` prefix (the console) answers both refusals itself, in its own format:
its body is still cut at the limit, as the :class:`BodyTooLarge` its handlers turn into
their page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote_plus

from fastapi import HTTPException
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustdesk.http.problems import problem_response


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request bodies are limited to {limit} bytes")


def capped(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises :class:`BodyTooLarge` once the body passes ``limit`` bytes."""
    received = 0

    async def capped_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return capped_receive


_CONTROL = re.compile("[\x00-\x1f\x7f]")
_PATHS_REMEMBERED = 1024  # paths whose limit is remembered (ids make them many: a bound)


def control_characters(scope: Scope) -> bool:
    """Whether the decoded path or the query string carries a C0 control character.

    No identifier or search term of ours contains one, and PostgreSQL refuses NUL in text,
    so such a request is refused here rather than failing deep inside a query.
    """
    query: bytes = scope.get("query_string", b"")
    if _CONTROL.search(scope.get("path", "")):
        return True
    return bool(query) and _CONTROL.search(unquote_plus(query.decode("latin-1"))) is not None


class BodySizeLimit:
    """Refuse request bodies larger than ``max_bytes`` (or a path's own limit)."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        per_path: Mapping[str, int] | None = None,
        checked_below: tuple[str, ...] = (),
        credential_valid: Callable[[str], bool] | None = None,
        *,
        credential_remembered: Callable[[str], bool] | None = None,
    ) -> None:
        """``per_path``: regular expressions a whole path must match, each with its limit
        (the first match counts). ``checked_below``: path prefixes whose application refuses
        control characters and oversize bodies itself. ``credential_valid``: whether a
        bearer credential belongs to a live caller; a path with a limit larger than
        ``max_bytes`` (an upload) then takes a body only from one, refusing anyone else
        with 401 before a byte of it is read (FastAPI reads a form before any dependency).
        ``credential_remembered``: whether the process knows the credential as live already
        (no thread, no query; asked first)."""
        self.app = app
        self.default = max_bytes
        self.per_path = [(re.compile(path), limit) for path, limit in (per_path or {}).items()]
        self.checked_below = checked_below
        self.credential_valid = credential_valid
        self.credential_remembered = credential_remembered
        self._limits: dict[str, int] = {}

    def limit_for(self, path: str) -> int:
        limit = self._limits.get(path)
        if limit is None:
            limit = next((n for p, n in self.per_path if p.fullmatch(path)), self.default)
            if len(self._limits) >= _PATHS_REMEMBERED:
                self._limits.clear()
            self._limits[path] = limit
        return limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        answers_itself = path.startswith(self.checked_below)
        if not answers_itself and control_characters(scope):
            response = problem_response(
                400,
                "bad_request",
                "Bad request",
                "paths and query strings may not contain control characters",
            )
            await response(scope, receive, send)
            return
        limit = self.limit_for(path)
        if limit > self.default and not answers_itself and not await self._known(scope):
            response = problem_response(
                401,
                "unauthenticated",
                "Unauthenticated",
                "an upload needs a valid `Authorization: Bearer <key>` before its body is read",
            )
            await response(scope, receive, send)
            return
        await self._limited(scope, receive, send, limit, answer_declared=not answers_itself)

    async def _known(self, scope: Scope) -> bool:
        """Whether the request carries a credential of a live caller (always, unchecked)."""
        if self.credential_valid is None or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            return True
        header = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, credential = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            return False
        if self.credential_remembered is not None and self.credential_remembered(
            credential.strip()
        ):
            return True
        return bool(await run_in_threadpool(self.credential_valid, credential.strip()))

    async def _limited(
        self, scope: Scope, receive: Receive, send: Send, limit: int, *, answer_declared: bool
    ) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = declared is not None and (not declared.isdigit() or int(declared) > limit)
        if too_large and answer_declared:
            response = problem_response(
                413, "payload_too_large", "Payload too large", BodyTooLarge(limit).detail
            )
            await response(scope, receive, send)
            return
        await self.app(scope, capped(receive, limit), send)
