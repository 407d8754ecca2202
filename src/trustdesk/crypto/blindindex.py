"""Blind indexes: keyed digests that find equal values without storing or decrypting them.

A :class:`BlindIndex` is HMAC-SHA256 under its own 256-bit key, separate from the key
ring, so a leaked database alone cannot test guesses (an identity number has too few
possibilities for a plain hash to hide it). Each digest is bound to a scope (a service and
a document type) so the same value in two services gives unrelated digests.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from trustdesk.crypto.keyfile import load_or_create_key
from trustdesk.errors import ConfigurationError

KEY_BYTES = 32
_PREFIX = "trustdesk-blind-index-v1:"


class BlindIndex:
    """Digests values under a secret key; equal (scope, value) pairs give equal digests."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigurationError(f"a blind-index key is {KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:
        return "BlindIndex(<secret>)"

    @classmethod
    def open(cls, path: Path) -> BlindIndex:
        """The index whose key is stored at ``path``; a new random key if there is none."""
        return cls(load_or_create_key(path, _PREFIX, KEY_BYTES, what="blind-index key"))

    def digest(self, *scope: str, value: str) -> bytes:
        """HMAC-SHA256 of ``value`` within ``scope``; parts are length-prefixed, never ambiguous."""
        message = b"".join(
            len(part).to_bytes(4, "big") + part
            for part in (p.encode("utf-8") for p in (*scope, value))
        )
        return hmac.new(self._key, message, hashlib.sha256).digest()
