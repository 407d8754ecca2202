"""Request limits: body size (a 413 problem document) and control characters in URLs (400).

FastAPI's own ``max_body_size`` answers a declared oversize ``Content-Length`` in plain
text, so trustdesk keeps this small middleware: a declared size over the limit is refused
before the route runs; a streamed body that grows past it raises :class:`BodyTooLarge`,
an ``HTTPException`` that the problem handlers turn into the same 413 document.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote_plus

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustdesk.http.problems import problem_response


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request bodies are limited to {limit} bytes")


def _control_characters(scope: Scope) -> bool:
    """Whether the decoded path or the query string carries a C0 control character.

    No identifier or search term of ours contains one, and PostgreSQL refuses NUL in text,
    so such a request is refused here rather than failing deep inside a query.
    """
    path: str = scope.get("path", "")
    query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path + query)


class BodySizeLimit:
    """Refuse request bodies larger than ``max_bytes`` (or a path's own limit)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default = max_bytes
        self.per_path = dict(per_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _control_characters(scope):
            response = problem_response(
                400,
                "bad_request",
                "Bad request",
                "paths and query strings may not contain control characters",
            )
            await response(scope, receive, send)
            return
        limit = self.per_path.get(scope.get("path", ""), self.default)
        await self._limited(scope, receive, send, limit)

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            response = problem_response(
                413, "payload_too_large", "Payload too large", BodyTooLarge(limit).detail
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited_receive, send)
