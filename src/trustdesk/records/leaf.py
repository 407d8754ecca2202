"""The bytes of a log leaf: RFC 8785 canonical JSON of ``{type, time, service, data}``.

``data`` carries identifiers and digests only, never personal data in the clear; the shape
rules here (short strings, bounded size, no floats) keep it that way by construction.

Two kinds of digest go into ``data``:

- :func:`keyed` for values someone could guess (a subject, a content id, an authority, a
  reference, a user name, a short reason): the entry gets ``hmac-sha256/<key id>:<hex>``
  under the log's digest key (:mod:`trustdesk.crypto.logdigest`), resolved when the entry
  is appended, so a reader cannot confirm a guess by hashing it;
- :func:`text_digest`, a bare SHA-256 in hex, only for evidence checks of whole documents
  and messages, which whoever receives the evidence must be able to recompute.

Entries written before keyed digests existed carry bare SHA-256 everywhere; they stay as
they are (the log hashes whole entries), and the prefix tells a reader which kind it sees.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from trustdesk.errors import ConfigurationError, InvalidInput

MAX_LEAF_BYTES = 16 * 1024
MAX_STRING = 512
MAX_DEPTH = 4
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class InvalidEvent(InvalidInput):
    code = "invalid_event"


@dataclass(frozen=True, slots=True)
class Event:
    """Something consequential that happened, about to become a leaf."""

    type: str
    service_id: uuid.UUID | None
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Keyed:
    """A guessable value whose keyed digest the entry will carry (see :func:`keyed`)."""

    value: str

    def __repr__(self) -> str:
        return "Keyed(<value>)"


def keyed(value: str) -> Keyed:
    """Log ``value`` as its keyed digest (HMAC-SHA256 under the log's digest key)."""
    return Keyed(value)


def keyed_or_none(value: str | None) -> Keyed | None:
    return None if value is None else Keyed(value)


Digester = Callable[[str], str]


def _resolve(value: Any, digester: Digester | None) -> Any:
    if isinstance(value, Keyed):
        if digester is None:
            msg = "the record log's digest key is not loaded (TRUSTDESK_LOG_DIGEST_KEY_PATH)"
            raise ConfigurationError(msg)
        return digester(value.value)
    if isinstance(value, list | tuple):
        return [_resolve(item, digester) for item in value]
    if isinstance(value, Mapping):
        return {key: _resolve(item, digester) for key, item in value.items()}
    return value


def _check(value: Any, where: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidEvent(f"{where}: nested too deeply")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise InvalidEvent(f"{where}: strings in log data are at most {MAX_STRING} long")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str) or not KEY.fullmatch(key):
                raise InvalidEvent(f"{where}: key {key!r} is not a snake_case name")
            _check(item, f"{where}.{key}", depth + 1)
        return
    raise InvalidEvent(f"{where}: {type(value).__name__} is not allowed in log data")


def text_digest(text: str) -> str:
    """The SHA-256 of ``text`` (UTF-8) in hex: for evidence checks of whole messages and
    documents only; a guessable value goes in as :func:`keyed`."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: one spelling for one instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode(event: Event, moment: datetime, digester: Digester | None = None) -> bytes:
    """The canonical leaf bytes of ``event`` recorded at ``moment``; ``digester`` turns
    its :class:`Keyed` values into keyed digests."""
    data = _resolve(dict(event.data), digester)
    _check(data, "data", 0)
    document = {
        "type": event.type,
        "time": timestamp(moment),
        "service": str(event.service_id) if event.service_id else None,
        "data": data,
    }
    leaf = rfc8785.dumps(document)
    if len(leaf) > MAX_LEAF_BYTES:
        raise InvalidEvent(f"a log entry is at most {MAX_LEAF_BYTES} bytes")
    return leaf
