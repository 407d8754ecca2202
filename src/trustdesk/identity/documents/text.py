"""Input cleaning shared by the document modules: refuse non-text and long input first."""

from __future__ import annotations

import unicodedata

from trustdesk.identity.documents.errors import InvalidFormat, InvalidLength

DIGITS = frozenset("0123456789")
LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def clean(number: object, *, max_length: int, delete: str = "") -> str:
    """``number`` folded to upper-case ASCII where it can be, without whitespace or ``delete``.

    Anything but ``str`` is refused, and so is a string longer than ``max_length`` before
    any other work, so junk costs nothing. NFKC turns full-width digits and letters (what
    a Chinese input method types) into ASCII; what is left outside ASCII fails the
    modules' own format checks.
    """
    if not isinstance(number, str):
        raise InvalidFormat("a document number is text")
    if len(number) > max_length:
        raise InvalidLength(f"a document number of this type is at most {max_length} characters")
    folded = unicodedata.normalize("NFKC", number)
    return "".join(ch for ch in folded if not ch.isspace() and ch not in delete).upper()


def is_ascii_digits(text: str) -> bool:
    """True for a non-empty string of 0-9 only (``str.isdigit`` also takes other scripts)."""
    return bool(text) and all(ch in DIGITS for ch in text)
