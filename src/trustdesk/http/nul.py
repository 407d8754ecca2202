"""Refuse U+0000 in request bodies with a 422, before any service or query sees it.

PostgreSQL cannot store NUL in text or jsonb, so an identifier, subject or message
carrying one would fail deep inside a transaction as a 500. Paths and query strings are
refused in :mod:`trustdesk.http.limits`; this dependency covers JSON and form bodies of
every API route (the console checks its forms itself). A JSON body pays only a byte search
unless it carries the escape ``\\u0000``, and only then is parsed again to say where.
"""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile

from trustdesk.text import NUL, nul_location

MESSAGE = "NUL characters (U+0000) are not allowed"
# Where NUL is content rather than a name: the text of a screened item is screened as sent
# (a NUL must not buy a message a 422 instead of a verdict) and stored with U+FFFD in its
# place (screening.service.Content).
CONTENT = {"/v1/screen": frozenset({("content", "text")})}
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


def _refuse(location: tuple[str | int, ...]) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("body", *location), "msg": MESSAGE, "type": "nul_character"}]
    )


async def refuse_nul(request: Request) -> None:
    """A FastAPI dependency: refuse a body whose text holds NUL anywhere."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
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
