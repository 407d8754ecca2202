"""Envelope encryption: AES-256-GCM under a fresh data key, the data key wrapped by a KEK.

Every :func:`seal` draws a new random 256-bit data key and a 96-bit nonce, so one data key
never encrypts twice. ``aad`` binds the ciphertext to its record (an evidence id, a vault
entry id): a ciphertext moved to another record fails to open. Destroying the wrapped key
destroys the plaintext (crypto-shredding); :func:`rewrap` moves a sealed value to the
current KEK without touching its ciphertext.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trustdesk.crypto.keyring import DecryptionFailed, KeyRing, UnknownKey

__all__ = ["DecryptionFailed", "Sealed", "UnknownKey", "open_sealed", "rewrap", "seal"]

DATA_KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class Sealed:
    """A sealed value: what to store (all four fields) to open it again."""

    kek_id: str
    wrapped_key: bytes = field(repr=False)
    nonce: bytes
    ciphertext: bytes = field(repr=False)


def seal(plaintext: bytes, keyring: KeyRing, *, aad: bytes) -> Sealed:
    """Encrypt ``plaintext`` under a fresh data key, wrapped by the key ring's current KEK."""
    data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, aad)
    kek_id, wrapped = keyring.wrap(data_key)
    return Sealed(kek_id, wrapped, nonce, ciphertext)


def open_sealed(sealed: Sealed, keyring: KeyRing, *, aad: bytes) -> bytes:
    """The plaintext; :class:`DecryptionFailed` if any field or ``aad`` was changed."""
    data_key = keyring.unwrap(sealed.kek_id, sealed.wrapped_key)
    if len(data_key) != DATA_KEY_BYTES or len(sealed.nonce) != NONCE_BYTES:
        raise DecryptionFailed("the sealed value is malformed")
    try:
        return AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad)
    except InvalidTag as exc:
        raise DecryptionFailed("the sealed value failed its integrity check") from exc


def rewrap(sealed: Sealed, keyring: KeyRing) -> Sealed:
    """``sealed`` with its data key rewrapped under the current KEK; ciphertext unchanged."""
    data_key = keyring.unwrap(sealed.kek_id, sealed.wrapped_key)
    kek_id, wrapped = keyring.wrap(data_key)
    return Sealed(kek_id, wrapped, sealed.nonce, sealed.ciphertext)
