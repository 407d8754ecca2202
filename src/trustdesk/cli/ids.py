"""Ids given on the command line: a UUID, or a clear error naming what was expected."""

from __future__ import annotations

import uuid

from trustdesk.errors import InvalidInput


class InvalidId(InvalidInput):
    code = "invalid_id"


def parse_id(value: str, what: str) -> uuid.UUID:
    """``value`` as a UUID; :class:`InvalidId` saying it is not ``what``."""
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise InvalidId(f"{value[:80]!r} is not {what} (a UUID)") from exc
