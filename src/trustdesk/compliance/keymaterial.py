"""Keep key material out of the register: the inventory describes facilities, never keys.

Every free-text field of the cryptography inventory passes :func:`check_text`, which
refuses control characters (raw key bytes) and anything shaped like a key: PEM or OpenSSH
armour, an OpenSSH key line, a JWK's private member, 128 bits or more written in hex, or a
base64 run long enough to carry 128 bits. The refusal never repeats the value, so a pasted
key reaches neither the database nor a log. Only a value's shape counts, never the words
that name a key: "TLS private key" names a facility and passes; its PEM block does not.
"""

from __future__ import annotations

import itertools
import re

from trustdesk.compliance import fields
from trustdesk.errors import InvalidInput
from trustdesk.text import has_forbidden_characters

_ARMOUR = re.compile(
    r"-----\s*BEGIN"  # a PEM (or OpenSSH) block, even its first line alone
    r"|(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-[\w-]+)\s+AAAA"  # an OpenSSH key line's blob
    r"|\"d\"\s*:\s*\"",  # a JWK's private member
    re.IGNORECASE,
)
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2}[:\s]?){16,}")  # 16 bytes, bare or colon/space separated
_BASE64 = re.compile(r"[A-Za-z0-9+/]{22,}={0,2}")  # 22 characters carry 128 bits
_BASE64_PADDED = re.compile(r"[A-Za-z0-9+/_-]{16,}={1,2}(?![A-Za-z0-9+/=])")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]{40,}")


class KeyMaterialRefused(InvalidInput):
    code = "key_material_refused"
    title = "Key material refused"


def _class(ch: str) -> int:
    return 0 if ch.isupper() else 1 if ch.islower() else 2 if ch.isdigit() else 3


def _random_looking(token: str) -> bool:
    """Upper case, lower case and digits together, or two of them switching often.

    That is how random bytes look in base64; words, host names and algorithm names
    (``OAEPWithSHA``, ``cnnorthwest1db``) switch between kinds of character far less.
    """
    classes = [c for c in map(_class, token) if c < 3]
    kinds = set(classes)
    if len(kinds) == 3:
        return True
    switches = sum(a != b for a, b in itertools.pairwise(classes))
    return len(kinds) == 2 and switches * 3 >= len(token)


def looks_like_key(text: str) -> bool:
    """Whether ``text`` carries something shaped like key material."""
    if _ARMOUR.search(text) or _HEX.search(text) or _BASE64_PADDED.search(text):
        return True
    tokens = [*_BASE64.findall(text), *_BASE64URL.findall(text)]
    return any(_random_looking(token) for token in tokens)


def check_text(value: str, field: str, limit: int) -> str:
    """``value`` stripped: 1 to ``limit`` printable characters and no key material."""
    if has_forbidden_characters(value.strip()):
        msg = f"{field} may not contain control or format characters (key bytes are refused)"
        raise KeyMaterialRefused(msg, field=field)
    if looks_like_key(value):
        msg = f"{field} looks like key material; the inventory records facilities, never keys"
        raise KeyMaterialRefused(msg, field=field)
    return fields.text(value, field, limit, field=field)


def optional_text(value: str | None, field: str, limit: int) -> str | None:
    if value is None or not value.strip():
        return None
    return check_text(value, field, limit)
