"""Refuse U+0000 in request bodies with a 422, before any service or query sees it.

PostgreSQL cannot store NUL in text or jsonb, so an identifier, subject or message
carrying one would fail deep inside a transaction as a 500. Paths and query strings are
refused in :mod:`trustdesk.http.limits`; this dependency covers JSON and form bodies of
every API route (the console checks its forms itself). A JSON body pays only a byte search
unless it carries the escape ``\\u0000``, and only then is parsed again to say where.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile

from trustdesk.text import NUL, nul_location

MESSAGE = "NUL characters (U+0000) are not allowed"
# Where NUL is content rather than a name: the text of a screened item is screened as sent
# (a NUL must not buy a message a 422 instead of a verdict) and stored with U+FFFD in its
# place (screening.service.Content).
CONTENT = {
    "/v1/screen": frozenset({("content", "text")}),
    "/v1/screen/batch": frozenset({("items", "content", "text")}),  # (the document's path)
}
# Bodies whose route checks each item itself, so that NUL fails only the item holding it.
PER_ITEM = frozenset({"/v1/screen/batch"})
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _refuse(location: tuple[str | int, ...]) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("body", *location), "msg": MESSAGE, "type": "nul_character"}]
    )


async def refuse_nul(request: Request) -> None:
    """A FastAPI dependency: refuse a body whose text holds NUL anywhere."""
    if request.method in {"GET", "HEAD", "OPTIONS"} or request.scope["path"] in PER_ITEM:
        return
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type.startswith(_FORMS):
        form = await request.form()  # Starlette parses once and keeps it on the request
        for name, value in form.multi_items():
            text = (value.filename or "") if isinstance(value, UploadFile) else value
            if NUL in name or NUL in text:
                raise _refuse((name.replace(NUL, ""),))
        return
    if not media_type.endswith("json"):
        return
    body = await request.body()  # cached: the route reads the same bytes
    if b"\\u0000" not in body and b"\x00" not in body:
        return
    try:
        location = nul_location(json.loads(body), CONTENT.get(request.url.path, ()))
    except (ValueError, UnicodeDecodeError):
        return  # not JSON: the route's own validation answers
    if location is not None:
        raise _refuse(location)


# The document states the rule: every string a request body holds, keys too, at any depth.
NO_NUL = "^[^\\x00]*$"
_JSON = "JsonWithoutNul"
_JSON_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value whose strings and keys hold no U+0000.",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": f"#/components/schemas/{_JSON}"}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL},
            "additionalProperties": {"$ref": f"#/components/schemas/{_JSON}"},
        },
    ],
}


def document(openapi: dict[str, Any]) -> None:
    """Say in ``openapi`` that request bodies hold no NUL: a pattern on their strings
    (those without a pattern of their own, which excludes it already) and their keys,
    and free JSON values (a screened item's ``context``) as :data:`_JSON`."""
    schemas: dict[str, Any] = openapi.setdefault("components", {}).setdefault("schemas", {})
    seen: set[int] = set()

    def mark(schema: dict[str, Any], at: tuple[str, ...], skip: frozenset[tuple[str, ...]]) -> None:
        if id(schema) in seen:
            return
        seen.add(id(schema))
        if "$ref" in schema:
            mark(schemas[schema["$ref"].rsplit("/", 1)[1]], at, skip)
            return
        for option in schema.get("anyOf", []) + schema.get("allOf", []):
            mark(option, at, skip)
        plain = not {"pattern", "format", "enum", "const"} & schema.keys()
        if schema.get("type") == "string" and plain and at not in skip:
            schema["pattern"] = NO_NUL
        for name, child in schema.get("properties", {}).items():
            mark(child, (*at, name), skip)
        if isinstance(schema.get("items"), dict):
            mark(schema["items"], at, skip)
        if schema.get("type") == "object":
            schema.setdefault("propertyNames", {"pattern": NO_NUL})
            if schema.get("additionalProperties") in (True, {}):
                schema["additionalProperties"] = {"$ref": f"#/components/schemas/{_JSON}"}
            elif isinstance(schema.get("additionalProperties"), dict):
                mark(schema["additionalProperties"], at, skip)

    for path, item in openapi.get("paths", {}).items():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                mark(media.get("schema", {}), (), CONTENT.get(path, frozenset()))
    schemas.setdefault(_JSON, _JSON_SCHEMA)
