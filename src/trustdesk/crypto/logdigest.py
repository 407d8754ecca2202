"""Keyed digests for record-log data: HMAC-SHA256 under a key kept outside the database.

Log entries name subjects, content ids, authorities, references and people by digest. A
plain SHA-256 of such a value hides nothing: anyone who can read the entry (a service, an
auditor, whoever holds an exported report) hashes a guess and compares. Under a secret key
only the provider can test a value. A digest says what it is, so a reader of a log mixing
old plain digests and new keyed ones can tell them apart::

    hmac-sha256/<key id>:<64 hex digits>

The key id is the first 8 hex digits of a SHA-256 over the key (it names the key, e.g.
after a restore, and reveals nothing about it).
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from trustdesk.crypto.keyfile import load_or_create_key
from trustdesk.errors import ConfigurationError

KEY_BYTES = 32
KIND = "hmac-sha256"
_PREFIX = "trustdesk-log-digest-v1:"


class LogDigestKey:
    """Digests guessable values for the record log; equal values give equal digests."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ConfigurationError(f"a log digest key is {KEY_BYTES} bytes")
        self._key = key
        self.key_id = hashlib.sha256(b"trustdesk-log-digest-key-id\n" + key).hexdigest()[:8]
        self._prefix = f"{KIND}/{self.key_id}:"

    def __repr__(self) -> str:
        return f"LogDigestKey({self.key_id})"

    @classmethod
    def open(cls, path: Path) -> LogDigestKey:
        """The key stored at ``path``; a new random key written there if there is none."""
        return cls(load_or_create_key(path, _PREFIX, KEY_BYTES, what="log digest key"))

    def digest(self, value: str) -> str:
        """``hmac-sha256/<key id>:<hex>`` of ``value`` (UTF-8)."""
        # hmac.digest: OpenSSL's one-shot HMAC, a few times faster than an hmac.new object
        mac = hmac.digest(self._key, value.encode("utf-8", "surrogatepass"), "sha256")
        return self._prefix + mac.hex()
