"""The events a stream carries, read and checked: one event is the body of
``POST /v1/screen`` as JSON (``{"content": {"id", "text", "kind"}, "subject", "context"}``),
checked by the same model, plus what a stream needs that HTTP gets from its transport:
a size limit, and identifiers without control or format characters.

An event that cannot be read is a :class:`Refusal` with a stable ``code`` and a reason
that names the field, never its value (the dead-letter stream keeps the event itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from trustdesk.errors import InvalidInput
from trustdesk.screening.hashes_in import content_in
from trustdesk.screening.schemas import ScreenRequest
from trustdesk.screening.service import ContentIn
from trustdesk.text import has_forbidden_characters, nul_location

MAX_REASONS = 5  # validation errors named in one refusal


@dataclass(frozen=True, slots=True)
class Event:
    """A content event, ready to screen."""

    item: ContentIn
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event cannot be screened: ``code`` is stable, ``reason`` for a person."""

    code: str
    reason: str


def read_event(payload: bytes | None, max_bytes: int) -> Event | Refusal:
    """The event in ``payload`` (UTF-8 JSON), or why it is refused."""
    if payload is None:
        return Refusal("missing_event", "the entry has no 'event' field")
    if len(payload) > max_bytes:
        return Refusal("event_too_large", f"the event is over {max_bytes} bytes")
    try:
        body = ScreenRequest.model_validate_json(payload)
    except ValidationError as exc:
        return _refused(exc)
    if (problem := _hostile(body)) is not None:
        return problem
    content = body.content
    try:
        item = content_in(content.id, content.kind, content.text, content.hashes, body.subject)
    except InvalidInput as exc:
        return Refusal(exc.code, exc.message)
    return Event(item, body.context)


def _hostile(body: ScreenRequest) -> Refusal | None:
    """Identifiers with control or format characters, NUL in the context: refused."""
    if has_forbidden_characters(body.content.id):
        return Refusal("invalid_event", "content.id: control, format or unassigned characters")
    if body.subject is not None and has_forbidden_characters(body.subject, prose=True):
        return Refusal("invalid_event", "subject: control characters")
    if (where := nul_location(body.context)) is not None:
        path = ".".join(str(p) for p in ("context", *where))
        return Refusal("invalid_event", f"{path}: NUL characters (U+0000)")
    return None


def _refused(exc: ValidationError) -> Refusal:
    errors = exc.errors(include_input=False, include_url=False)
    if any(e["type"] in {"json_invalid", "json_type"} for e in errors):
        return Refusal("not_json", "the event is not JSON (UTF-8, no lone surrogates)")
    named = [f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in errors]
    more = f" (and {len(named) - MAX_REASONS} more)" if len(named) > MAX_REASONS else ""
    return Refusal("invalid_event", "; ".join(named[:MAX_REASONS]) + more)
