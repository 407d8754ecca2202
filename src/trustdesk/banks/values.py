"""Bank vocabulary and the canonical text of a bank entry, per signal (pure logic).

Canonical text, the one spelling stored, exported and compared:

- ``file.sha256``: 64 lowercase hex digits; ``file.md5``: 32; ``image.pdq``: 64 (256 bits,
  in the byte order python-threatexchange and pdqhash print);
- ``video.pdq``: the video's frame hashes, each a PDQ as above, in the video's order,
  joined by ``,`` (no spaces), one to :data:`MAX_FRAMES` frames, a frame never repeated
  right after itself (consecutive duplicates are folded);
- ``url.domain``: a host name in lowercase ASCII (IDN labels as punycode), no trailing dot,
  no port, at most 253 characters, labels of 1 to 63 letters, digits and hyphens.

Given text may differ in case and surrounding spaces; anything else is refused.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Iterable

from trustdesk.errors import InvalidInput
from trustdesk.signals import pdq_hashes
from trustdesk.signals.pdq_hashes import InvalidPdqHash


class Signal(enum.StrEnum):
    """The signals a bank can hold (the shared vocabulary of issue 16)."""

    FILE_SHA256 = "file.sha256"
    FILE_MD5 = "file.md5"
    IMAGE_PDQ = "image.pdq"
    VIDEO_PDQ = "video.pdq"
    URL_DOMAIN = "url.domain"

    @property
    def distance(self) -> bool:
        """Whether entries match by Hamming distance (PDQ) rather than exactly."""
        return self in (Signal.IMAGE_PDQ, Signal.VIDEO_PDQ)


class BankAction(enum.StrEnum):
    """What a match does (the values of screening's rule actions)."""

    BLOCK = "block"
    HOLD = "hold"
    FLAG = "flag"


class BankMode(enum.StrEnum):
    """``shadow``: a match is recorded but does not act (screening's rule modes)."""

    ENFORCE = "enforce"
    SHADOW = "shadow"


DEFAULT_THRESHOLD = 31  # PDQ's recommended distance for a confident match
MAX_THRESHOLD = 128  # half of 256 bits: past it, anything matches
MAX_FRAMES = pdq_hashes.MAX_FRAMES  # frames of one video entry
MAX_VALUE_CHARS = MAX_FRAMES * 65  # the longest canonical text (a video's frames)
MAX_NOTE = 255  # characters of an entry's note (HMA keeps 255)
MAX_SOURCE = 200  # characters of an entry's source

_HEX = {
    Signal.FILE_SHA256: re.compile(r"[0-9a-f]{64}"),
    Signal.FILE_MD5: re.compile(r"[0-9a-f]{32}"),
    Signal.IMAGE_PDQ: re.compile(r"[0-9a-f]{64}"),
}
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class InvalidValue(InvalidInput):
    """A bank entry's text is not a value of the bank's signal."""

    code = "invalid_bank_value"


def _invalid(signal: Signal, message: str) -> InvalidValue:
    return InvalidValue(f"not a {signal} value: {message}", field="value")


def _hex(signal: Signal, text: str) -> str:
    value = text.strip().lower()
    pattern = _HEX[signal]
    if not pattern.fullmatch(value):
        want = pattern.pattern.rsplit("{", 1)[1].rstrip("}")
        raise _invalid(signal, f"expected {want} hex digits, got {len(value)} characters")
    return value


def frames(text: str) -> list[str]:
    """The frame hashes of a ``video.pdq`` value, validated, consecutive duplicates folded
    (:func:`trustdesk.signals.pdq_hashes.frames`, the one parser of this form)."""
    try:
        return pdq_hashes.frames(text, MAX_FRAMES)
    except InvalidPdqHash as error:
        raise _invalid(Signal.VIDEO_PDQ, error.message) from None


def _domain(text: str) -> str:
    host = text.strip().rstrip(".")
    if not host or len(host) > 253 * 4:
        raise _invalid(Signal.URL_DOMAIN, "empty or too long")
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        raise _invalid(Signal.URL_DOMAIN, "not a host name") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise _invalid(Signal.URL_DOMAIN, "not a host name")
    return ascii_host


def canonical(signal: Signal, text: str) -> str:
    """``text`` as the canonical value of ``signal``; :class:`InvalidValue` if it is not one."""
    if len(text) > MAX_VALUE_CHARS:
        raise _invalid(signal, f"longer than {MAX_VALUE_CHARS} characters")
    if signal is Signal.VIDEO_PDQ:
        return ",".join(frames(text))
    if signal is Signal.URL_DOMAIN:
        return _domain(text)
    return _hex(signal, text)


def digest(value: str) -> str:
    """The SHA-256 (hex) of a canonical value: its key in a bank."""
    return hashlib.sha256(value.encode("ascii")).hexdigest()


def set_digest(values: Iterable[str]) -> str:
    """SHA-256 (hex) over the sorted canonical values, each followed by a newline: what the
    record log keeps of the entries a change added or removed (recomputable by an auditor
    from an export or from :func:`trustdesk.banks.entries.holdings`)."""
    hasher = hashlib.sha256()
    for value in sorted(values):
        hasher.update(value.encode("ascii") + b"\n")
    return hasher.hexdigest()
