"""Checks the register's use cases share for the text and dates people type in."""

from __future__ import annotations

import datetime as dt

from trustdesk.errors import InvalidInput
from trustdesk.text import has_forbidden_characters

MAX_ACTOR = 200
EARLIEST = dt.date(1990, 1, 1)  # no internet permit or server record predates this


class InvalidRegisterEntry(InvalidInput):
    code = "invalid_register_entry"


def text(value: str, field: str, limit: int) -> str:
    """``value`` stripped: 1 to ``limit`` characters, none of them control or format ones."""
    value = value.strip()
    if not value:
        raise InvalidRegisterEntry(f"{field} must not be empty")
    if len(value) > limit:
        raise InvalidRegisterEntry(f"{field} is at most {limit} characters long")
    if has_forbidden_characters(value):
        raise InvalidRegisterEntry(f"{field} may not contain control or format characters")
    return value


def optional_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    return text(value, field, limit)


def actor(by: str) -> str:
    """Who acts, as the record names them (a username, or a name given to the CLI)."""
    return text(by, "who acts (by)", MAX_ACTOR)


def date(value: dt.date, field: str, latest: dt.date | None = None) -> dt.date:
    """A plausible date: not before 1990 and, if ``latest`` is given, not after it."""
    if value < EARLIEST:
        raise InvalidRegisterEntry(f"{field} is before {EARLIEST.isoformat()}")
    if latest is not None and value > latest:
        raise InvalidRegisterEntry(f"{field} ({value.isoformat()}) is in the future")
    return value
