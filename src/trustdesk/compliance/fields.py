"""Checks the register's use cases share for the text and dates people type in."""

from __future__ import annotations

import datetime as dt

from trustdesk.errors import InvalidInput
from trustdesk.text import has_forbidden_characters

MAX_ACTOR = 200
EARLIEST = dt.date(1990, 1, 1)  # no internet permit or server record predates this


class InvalidRegisterEntry(InvalidInput):
    code = "invalid_register_entry"


def text(value: str, label: str, limit: int, *, field: str | None = None) -> str:
    """``value`` stripped: 1 to ``limit`` characters, none of them control or format ones.

    ``label`` names the value in the message; ``field``, the request field it came from.
    """
    value = value.strip()
    if not value:
        raise InvalidRegisterEntry(f"{label} must not be empty", field=field)
    if len(value) > limit:
        raise InvalidRegisterEntry(f"{label} is at most {limit} characters long", field=field)
    if has_forbidden_characters(value):
        msg = f"{label} may not contain control or format characters"
        raise InvalidRegisterEntry(msg, field=field)
    return value


def optional_text(
    value: str | None, label: str, limit: int, *, field: str | None = None
) -> str | None:
    if value is None or not value.strip():
        return None
    return text(value, label, limit, field=field)


def actor(by: str) -> str:
    """Who acts, as the record names them (a username, or a name given to the CLI)."""
    return text(by, "who acts (by)", MAX_ACTOR)


def date(
    value: dt.date, label: str, latest: dt.date | None = None, *, field: str | None = None
) -> dt.date:
    """A plausible date: not before 1990 and, if ``latest`` is given, not after it."""
    if value < EARLIEST:
        raise InvalidRegisterEntry(f"{label} is before {EARLIEST.isoformat()}", field=field)
    if latest is not None and value > latest:
        msg = f"{label} ({value.isoformat()}) is in the future"
        raise InvalidRegisterEntry(msg, field=field)
    return value
