"""Bearer tokens: 256 random bits behind a recognisable prefix, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets


def new_token(prefix: str) -> str:
    """A fresh token: ``prefix`` and 256 random bits, URL-safe."""
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """The stored form of a token.

    A plain SHA-256 suffices: the token has 256 bits of entropy, so there is nothing for a
    slow hash to protect, and every request that carries one pays for this lookup.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
