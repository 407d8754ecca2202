"""Envelope encryption: round trips, tampering with any field, rotation and rewrap."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from trustdesk.crypto.envelope import DecryptionFailed, Sealed, open_sealed, rewrap, seal
from trustdesk.crypto.keyring import LocalKeyRing, UnknownKey

AAD = b"evidence:0f6c2b9e"
SECRET = "举报内容 and the reported message".encode()


@pytest.fixture
def keyring(tmp_path: Path) -> LocalKeyRing:
    return LocalKeyRing.open(tmp_path / "keys" / "keyring.json", development=True)


def flip(value: bytes, position: int = 0) -> bytes:
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


@pytest.mark.parametrize("plaintext", [b"", b"x", SECRET, bytes(range(256)) * 1000])
def test_round_trip(keyring: LocalKeyRing, plaintext: bytes) -> None:
    sealed = seal(plaintext, keyring, aad=AAD)
    assert sealed.kek_id == keyring.current_id()
    assert len(sealed.nonce) == 12
    assert len(sealed.ciphertext) == len(plaintext) + 16
    assert open_sealed(sealed, keyring, aad=AAD) == plaintext


def test_ciphertext_and_wrapped_key_hide_the_plaintext(keyring: LocalKeyRing) -> None:
    sealed = seal(SECRET, keyring, aad=AAD)
    assert SECRET not in sealed.ciphertext
    assert SECRET not in sealed.wrapped_key
    assert "wrapped_key" not in repr(sealed)


def test_two_seals_of_one_plaintext_differ(keyring: LocalKeyRing) -> None:
    first, second = seal(SECRET, keyring, aad=AAD), seal(SECRET, keyring, aad=AAD)
    assert first.nonce != second.nonce
    assert first.wrapped_key != second.wrapped_key  # a fresh data key per seal
    assert first.ciphertext != second.ciphertext


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda s: dataclasses.replace(s, ciphertext=flip(s.ciphertext)), id="ct"),
        pytest.param(lambda s: dataclasses.replace(s, ciphertext=flip(s.ciphertext, -1)), id="tag"),
        pytest.param(lambda s: dataclasses.replace(s, ciphertext=s.ciphertext[:-1]), id="cut"),
        pytest.param(lambda s: dataclasses.replace(s, nonce=flip(s.nonce, 5)), id="nonce"),
        pytest.param(lambda s: dataclasses.replace(s, nonce=s.nonce[:8]), id="short-nonce"),
        pytest.param(lambda s: dataclasses.replace(s, wrapped_key=flip(s.wrapped_key, 9)), id="wk"),
        pytest.param(lambda s: dataclasses.replace(s, wrapped_key=b"\x00" * 7), id="short-wk"),
    ],
)
def test_tampering_with_any_field_fails(keyring: LocalKeyRing, tamper: object) -> None:
    sealed = seal(SECRET, keyring, aad=AAD)
    assert callable(tamper)
    with pytest.raises(DecryptionFailed) as caught:
        open_sealed(tamper(sealed), keyring, aad=AAD)
    assert caught.value.code == "decryption_failed"


def test_a_different_aad_fails(keyring: LocalKeyRing) -> None:
    sealed = seal(SECRET, keyring, aad=AAD)
    for aad in (b"", b"evidence:0f6c2b9f", AAD + b"\x00"):
        with pytest.raises(DecryptionFailed):
            open_sealed(sealed, keyring, aad=aad)


def test_a_changed_kek_id_fails(keyring: LocalKeyRing) -> None:
    sealed = seal(SECRET, keyring, aad=AAD)
    other = keyring.rotate()
    with pytest.raises(DecryptionFailed) as caught:
        open_sealed(dataclasses.replace(sealed, kek_id=other), keyring, aad=AAD)
    assert caught.value.code == "decryption_failed"
    with pytest.raises(UnknownKey) as unknown:  # a DecryptionFailed with a code of its own
        open_sealed(dataclasses.replace(sealed, kek_id="kek-nope"), keyring, aad=AAD)
    assert unknown.value.code == "unknown_key"
    assert isinstance(unknown.value, DecryptionFailed)


def test_rotation_keeps_old_seals_open_and_rewrap_moves_them(keyring: LocalKeyRing) -> None:
    old = seal(SECRET, keyring, aad=AAD)
    first_id = keyring.current_id()
    new_id = keyring.rotate()
    assert new_id != first_id
    assert keyring.ids() == (first_id, new_id)
    assert open_sealed(old, keyring, aad=AAD) == SECRET
    assert seal(SECRET, keyring, aad=AAD).kek_id == new_id

    moved = rewrap(old, keyring)
    assert moved.kek_id == new_id
    assert moved.ciphertext == old.ciphertext
    assert moved.nonce == old.nonce
    assert moved.wrapped_key != old.wrapped_key
    assert open_sealed(moved, keyring, aad=AAD) == SECRET
    assert rewrap(moved, keyring) == moved  # AES key wrap is deterministic


def test_a_reopened_key_ring_opens_what_the_first_sealed(
    keyring: LocalKeyRing, tmp_path: Path
) -> None:
    sealed = seal(SECRET, keyring, aad=AAD)
    keyring.rotate()
    again = LocalKeyRing.open(keyring.path, development=True)
    assert again.ids() == keyring.ids()
    assert open_sealed(sealed, again, aad=AAD) == SECRET
    elsewhere = LocalKeyRing.open(tmp_path / "other.json", development=True)
    with pytest.raises(UnknownKey):
        open_sealed(sealed, elsewhere, aad=AAD)


def test_sealed_is_immutable(keyring: LocalKeyRing) -> None:
    sealed = seal(SECRET, keyring, aad=AAD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        sealed.kek_id = "x"  # type: ignore[misc]
    assert isinstance(sealed, Sealed)
