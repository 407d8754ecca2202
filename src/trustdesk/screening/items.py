"""Reading the items of a ``POST /v1/screen/batch`` body one by one: each is validated with
the single endpoint's model, so a malformed item becomes a :class:`batch.Refused` of its
own and never fails the others.

What the single endpoint refuses for the whole request, a batch refuses for the item: a
body that does not validate (``invalid_item``; an unknown field: ``unknown_field``; a
value over its size: ``item_too_large``), NUL outside the text (``nul_character``, see
:mod:`trustdesk.http.nul`), content the store cannot take (``invalid_content``).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError

from trustdesk.errors import InvalidInput
from trustdesk.http.nul import MESSAGE as NUL_MESSAGE
from trustdesk.screening.batch import Refused
from trustdesk.screening.hashes_in import content_in
from trustdesk.screening.schemas import ScreenRequest
from trustdesk.screening.screen import ScreenCall
from trustdesk.text import nul_location

TEXT = ("content", "text")  # where NUL is content: screened as sent, stored as U+FFFD
CODES = {  # pydantic's error types with a code of their own
    "extra_forbidden": "unknown_field",
    "string_too_long": "item_too_large",
    "too_long": "item_too_large",
}


def parse(raw: Any, service_id: uuid.UUID, *, nul: bool = True) -> ScreenCall | Refused:
    """The call ``raw`` (one item of a batch, as decoded from JSON) asks for, or why not;
    ``nul``: whether the body may hold NUL at all (if not, no item is searched for it)."""
    found = nul_location(raw, (TEXT,)) if nul else None
    if found is not None:
        return Refused("nul_character", NUL_MESSAGE, _dotted(found))
    try:
        body = ScreenRequest.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        code = CODES.get(first["type"], "invalid_item")
        return Refused(code, first["msg"], _dotted(first["loc"]))
    try:
        content = body.content
        item = content_in(content.id, content.kind, content.text, content.hashes, body.subject)
    except InvalidInput as exc:
        return Refused(exc.code, exc.message, exc.field)
    return ScreenCall(service_id, item, body.context)


def _dotted(location: tuple[str | int, ...]) -> str | None:
    return ".".join(str(part) for part in location) or None
