"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable ``code``.

Each branch of :mod:`trustdesk.errors` has one status; the body carries the error's own
``code`` so clients can tell ``service_not_found`` from ``pack_not_found``.  Validation
errors never echo the submitted values (they may be personal data), and unexpected
exceptions answer a bare 500 while the traceback goes to the server log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.applications import Starlette
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from trustdesk.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    SourceError,
    TrustdeskError,
    Unauthenticated,
)
from trustdesk.http import nul

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("trustdesk.http")

STATUS_BY_BRANCH: tuple[tuple[type[TrustdeskError], int], ...] = (
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (RateLimited, 429),
    (ConfigurationError, 503),
)
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


class Problem(BaseModel):
    """The body of every error response."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str | None = None
    field: str | None = Field(
        default=None,
        description="The request field the error is about (a dotted name), if it is one.",
    )
    errors: list[dict[str, Any]] | None = None


_PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
_DESCRIPTIONS = {
    400: "Bad request: control characters in the path or query string",
    401: "No credentials, or wrong ones",
    403: "Authenticated, but not allowed (or the wrong kind of caller)",
    404: "Missing, or not the caller's to see",
    409: "The request conflicts with the current state",
    413: "The request body is over its limit",
    422: "The request or its content is not valid",
    429: "Too many requests; try again later",
    503: "A dependency (the database) does not answer",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring ``statuses`` as problem documents (the Problem schema
    under ``application/problem+json``, the media type they are answered with)."""
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA}},
        }
        for status in statuses
    }


# What any route answers before its own code runs: the request limits (400, 413), the bearer
# credential (401, and 403 for the wrong kind of caller or a missing permission), a missing
# or foreign id (404) and request validation (422).  Routes add 409 and 429 where they can.
PUBLIC_PROBLEM_RESPONSES = problems(400, 404, 413, 422)
PROBLEM_RESPONSES = problems(400, 401, 403, 404, 413, 422)
CONFLICT_RESPONSES = problems(409)
RATE_LIMITED_RESPONSES = problems(429)


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    field: str | None = None,
) -> JSONResponse:
    body = Problem(title=title, status=status, code=code, detail=detail, field=field, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def status_for(error: TrustdeskError) -> int:
    for branch, status in STATUS_BY_BRANCH:
        if isinstance(error, branch):
            return status
    return 500


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrustdeskError)
    status = status_for(exc)
    errors = None
    if isinstance(exc, SourceError):
        errors = [
            {"file": p.file, "line": p.line, "column": p.column, "message": p.message}
            for p in exc.problems
        ]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, RateLimited) and exc.retry_after is not None:
        headers = {"Retry-After": str(max(1, exc.retry_after))}
    return problem_response(
        status, exc.code, exc.title, exc.message, errors=errors, headers=headers, field=exc.field
    )


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": [str(part) for part in error.get("loc", ())], "message": error.get("msg", "")}
        for error in exc.errors()
    ]
    return problem_response(
        422, "invalid_request", "Invalid request", "the request did not validate", errors=errors
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def allowed_methods(app: Starlette, scope: Scope) -> list[str]:
    """Every method a route of ``app`` answers on the path of ``scope``.

    Starlette's 405 names only the methods of the first route whose path matches, but
    FastAPI makes one route per method: ``POST /v1/webhook`` then said ``Allow: PUT``
    where ``GET, PUT, DELETE`` is the truth. So each method is routed in turn."""
    path = {"type": "http", "path": scope["path"], "root_path": scope.get("root_path", "")}
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**path, "method": method})[0] is Match.FULL
            for route in app.router.routes
        )
    ]


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "http_error")
    title = code.replace("_", " ").capitalize()
    headers = exc.headers
    if exc.status_code == 405 and (allowed := allowed_methods(request.app, request.scope)):
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
    return problem_response(exc.status_code, code, title, str(exc.detail), headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        500, "internal_error", "Internal error", "the server failed; the error has been logged"
    )


# The request limits' rule (trustdesk.http.limits): no control character in a URL.
NO_CONTROLS = "^[^\\x00-\\x1f\\x7f]*$"


def _document_url_rule(openapi: dict[str, Any]) -> None:
    """Say in ``openapi`` that path and query parameters hold no control character: a
    pattern on those strings that have none of their own (or a format, or an enum)."""
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") not in ("path", "query"):
                    continue
                schema = parameter.get("schema", {})
                for option in [schema, *schema.get("anyOf", [])]:
                    plain = not {"pattern", "format", "enum", "const"} & option.keys()
                    if option.get("type") == "string" and plain:
                        option["pattern"] = NO_CONTROLS


def _with_problem_schema(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` that always holds the Problem schema the declarations refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:  # made and completed once (FastAPI keeps it)
            return app.openapi_schema
        document = generate()
        nul.document(document)
        _document_url_rule(document)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "Problem" not in schemas:
            schemas["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        return document

    return openapi


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem document, and document it so."""
    app.openapi = _with_problem_schema(app)  # type: ignore[method-assign]
    app.add_exception_handler(TrustdeskError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
