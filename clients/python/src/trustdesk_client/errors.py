"""Errors: one base, :class:`TrustdeskError`, and a subclass per family of answers.

trustdesk answers every error as an RFC 9457 problem document (``application/problem+json``)
with a stable ``code`` (``invalid_request``, ``identity_not_found``, ...). The client raises
the subclass of the answer's status, carrying the problem's ``code``, ``status``, ``title``,
``detail`` and ``field``: catch a family (``except NotFound``) or test the code
(``error.code == "duplicate_id"``). No error ever carries the API key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class TrustdeskError(Exception):
    """Anything the client could not do: an error answer, no answer, or a refused webhook.

    ``status`` is the HTTP status of an answer (None when there was none).
    """

    code: str
    status: int | None
    title: str
    detail: str | None
    field: str | None
    errors: tuple[Mapping[str, Any], ...]

    def __init__(
        self,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        status: int | None = None,
        field: str | None = None,
        errors: tuple[Mapping[str, Any], ...] = (),
    ) -> None:
        self.code, self.title, self.detail = code, title, detail
        self.status, self.field, self.errors = status, field, errors
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" [{self.status}]" if self.status is not None else ""
        said = f": {self.detail}" if self.detail else ""
        about = f" (field {self.field})" if self.field else ""
        return f"{self.code}{where} {self.title}{said}{about}"


class BadRequest(TrustdeskError):
    """400: the request line or query holds what the server refuses (control characters)."""


class Unauthenticated(TrustdeskError):
    """401: no API key, or a wrong, revoked or expired one."""


class PermissionDenied(TrustdeskError):
    """403: authenticated, but not allowed (or the wrong kind of caller)."""


class NotFound(TrustdeskError):
    """404: missing, or not this service's to see."""


class Conflict(TrustdeskError):
    """409: the request conflicts with the current state."""


class PayloadTooLarge(TrustdeskError):
    """413: the request body is over the server's limit."""


class InvalidRequest(TrustdeskError):
    """422: the request or its content is not valid (``errors`` says where, never echoing
    the values sent)."""


class RateLimited(TrustdeskError):
    """429: too many requests. ``retry_after`` is the server's wait in seconds, if it said."""

    retry_after: float | None = None


class ServiceUnavailable(TrustdeskError):
    """503 (and 502, 504): the server or a dependency of it (the database) does not answer."""

    retry_after: float | None = None


class ServerError(TrustdeskError):
    """Another 5xx: the server failed (its log has the cause)."""


class UnexpectedAnswer(TrustdeskError):
    """An answer the client cannot read: not the JSON the route documents."""


class ConnectionFailed(TrustdeskError):
    """No answer: the server could not be reached, or did not answer in time."""


class WebhookVerificationError(TrustdeskError):
    """A webhook delivery refused: a header missing or malformed, a signature that does not
    match the body and secret, a timestamp too old or too new, or an exact replay.

    ``code`` says which: ``missing_header``, ``malformed_header``, ``invalid_secret``,
    ``stale_timestamp``, ``future_timestamp``, ``bad_signature``, ``replayed``,
    ``invalid_body``.
    """


_BY_STATUS: dict[int, type[TrustdeskError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def error_class(status: int) -> type[TrustdeskError]:
    """The exception class for an error answer of ``status``."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else TrustdeskError
