"""Credentials: API keys (random, stored as SHA-256) and passwords (argon2id)."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trustdesk.crypto.tokens import new_token, token_digest

API_KEY_PREFIX = "td_"
USER_TOKEN_PREFIX = "tdu_"  # noqa: S105  (a prefix, not a secret)
_hasher = PasswordHasher()
# Verified against when a username is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_api_key() -> str:
    """A fresh API key: 256 random bits, URL-safe, recognisable by its ``td_`` prefix."""
    return new_token(API_KEY_PREFIX)


def new_user_token() -> str:
    """A fresh user API token, recognisable by its ``tdu_`` prefix."""
    return new_token(USER_TOKEN_PREFIX)


api_key_digest = token_digest  # the stored form of an API key or user token


def api_key_prefix(key: str) -> str:
    """The part of a key that may be shown again to identify it."""
    return key[:12]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash, spend the same time and say no."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
