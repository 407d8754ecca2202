"""The bytes of a log leaf: RFC 8785 canonical JSON of ``{type, time, service, data}``.

The shape rules below (snake_case ASCII keys, no floats, integers within JSON's safe
range, valid Unicode) make RFC 8785's canonical form the standard library's compact,
key-sorted JSON with non-ASCII text as is, which :func:`encode` writes with the C encoder;
tests hold it to ``rfc8785.dumps`` byte for byte.

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
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trustdesk.errors import ConfigurationError, InvalidInput

MAX_LEAF_BYTES = 16 * 1024
MAX_STRING = 512
MAX_DEPTH = 4
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SAFE_INTEGER = 2**53 - 1  # RFC 8785 (I-JSON): integers a double holds exactly
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, check_circular=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
_KEYS_KEPT = 4096
_good_keys: set[str] = set()  # keys seen to match KEY


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
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        if not -SAFE_INTEGER <= value <= SAFE_INTEGER:
            raise InvalidEvent(f"{where}: integers in log data are at most 2**53 - 1 in size")
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


class _Unclean(Exception):
    """Something in the data breaks a shape rule (:func:`_check` says which)."""


def _clean(value: Any, digester: Digester | None, depth: int) -> Any:
    """:func:`_resolve` and :func:`_check` in one pass, without the paths for messages."""
    if depth > MAX_DEPTH:
        raise _Unclean
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise _Unclean
        return value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -SAFE_INTEGER <= value <= SAFE_INTEGER:
            return value
        raise _Unclean
    if isinstance(value, Keyed):
        return _resolve(value, digester)
    if isinstance(value, list | tuple):
        return [_clean(item, digester, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return {_clean_key(key): _clean(item, digester, depth + 1) for key, item in value.items()}
    raise _Unclean


def _clean_key(key: object) -> str:
    if not isinstance(key, str):
        raise _Unclean
    if key not in _good_keys:
        if not KEY.fullmatch(key):
            raise _Unclean
        if len(_good_keys) >= _KEYS_KEPT:
            _good_keys.clear()
        _good_keys.add(key)
    return key  # as is: a str subclass is written as its text


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
    try:
        data = _clean(event.data, digester, 0)
    except _Unclean:
        _check(_resolve(dict(event.data), digester), "data", 0)  # raises, saying where
        raise InvalidEvent("data: not allowed in log data") from None
    document = {
        "type": event.type,
        "time": timestamp(moment),
        "service": str(event.service_id) if event.service_id else None,
        "data": data,
    }
    try:
        leaf = _ENCODER.encode(document).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidEvent("log data must be valid Unicode (a lone surrogate?)") from exc
    if len(leaf) > MAX_LEAF_BYTES:
        raise InvalidEvent(f"a log entry is at most {MAX_LEAF_BYTES} bytes")
    return leaf
