"""Key rings: key-encryption keys (KEKs) that wrap and unwrap the data keys of envelopes.

:class:`KeyRing` is the contract; a KMS- or HSM-backed ring implements it in production.
:class:`LocalKeyRing` keeps its AES-256 KEKs in a JSON file (mode 0600) for development
and small installations. Data keys are wrapped with AES key wrap (RFC 3394): deterministic
and integrity-checked, so a wrong KEK or a changed wrapped key is detected.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from trustdesk.errors import ConfigurationError, TrustdeskError
from trustdesk.settings import Environment, Settings

log = logging.getLogger("trustdesk.crypto")

FORMAT = "trustdesk-keyring/1"
KEK_BYTES = 32
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


class KeyRingError(ConfigurationError):
    """The key ring's file is missing, unreadable or corrupt."""

    code = "keyring_error"
    title = "Key ring error"


class DecryptionFailed(TrustdeskError):
    """A sealed value or a wrapped key failed its integrity check: tampered, or the wrong key."""

    code = "decryption_failed"
    title = "Decryption failed"


class UnknownKey(DecryptionFailed):
    """The key ring holds no key-encryption key with the id a sealed value names."""

    code = "unknown_key"
    title = "Unknown key"


@runtime_checkable
class KeyRing(Protocol):
    """Wraps data keys under the current KEK; unwraps under any KEK it still holds."""

    def current_id(self) -> str: ...

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        """``(kek_id, wrapped)`` of ``data_key`` under the current KEK."""
        ...

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        """The data key; :class:`UnknownKey` or :class:`DecryptionFailed` if it cannot be."""
        ...

    def ids(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class _Kek:
    id: str
    key: bytes = field(repr=False)


def _new_kek() -> _Kek:
    return _Kek(f"kek-{secrets.token_hex(8)}", secrets.token_bytes(KEK_BYTES))


class _Corrupt(Exception):
    """Why a key ring file was refused (never quoting its content)."""


def _parse(raw: bytes) -> tuple[list[_Kek], str]:
    if not raw.strip():
        raise _Corrupt("it is empty")
    try:
        document: Any = json.loads(raw)
    except ValueError as exc:
        raise _Corrupt("it is not JSON") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _Corrupt(f"it is not a key ring (expected format {FORMAT!r})")
    entries, current = document.get("keys"), document.get("current")
    if not isinstance(entries, list) or not entries:
        raise _Corrupt("it lists no keys")
    keks: list[_Kek] = []
    for number, entry in enumerate(entries, 1):
        kek_id = entry.get("id") if isinstance(entry, dict) else None
        encoded = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(kek_id, str) or not KEY_ID.fullmatch(kek_id):
            raise _Corrupt(f"key {number} has no valid id")
        try:
            key = base64.b64decode(encoded, validate=True) if isinstance(encoded, str) else b""
        except binascii.Error as exc:
            raise _Corrupt(f"key {kek_id} is not base64") from exc
        if len(key) != KEK_BYTES:
            raise _Corrupt(f"key {kek_id} is not {KEK_BYTES} bytes long")
        keks.append(_Kek(kek_id, key))
    if len({k.id for k in keks}) != len(keks):
        raise _Corrupt("it lists a key id twice")
    if current not in {k.id for k in keks}:
        raise _Corrupt("its current key is not among its keys")
    return keks, str(current)


def _read(path: Path) -> tuple[list[_Kek], str]:
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        msg = f"cannot read the key ring {path}: {exc.strerror or exc.__class__.__name__}"
        raise KeyRingError(msg) from exc
    try:
        keks, current = _parse(raw)
    except _Corrupt as exc:
        raise KeyRingError(f"the key ring {path} is corrupt: {exc}") from exc
    if mode & 0o077:
        log.warning("key ring %s is readable by others (mode %o); chmod 600 it", path, mode & 0o777)
    return keks, current


def _write(path: Path, keks: list[_Kek], current: str) -> None:
    document = {
        "format": FORMAT,
        "current": current,
        "keys": [{"id": k.id, "key": base64.b64encode(k.key).decode("ascii")} for k in keks],
    }
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(json.dumps(document, indent=2).encode("ascii") + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        msg = f"cannot write the key ring {path}: {exc.strerror or exc.__class__.__name__}"
        raise KeyRingError(msg) from exc
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise writers of ``path`` (other processes included) with a lock file beside it."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        msg = f"cannot write the key ring {path}: {exc.strerror or exc.__class__.__name__}"
        raise KeyRingError(msg) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


class LocalKeyRing:
    """AES-256 KEKs in a local JSON file; made with one KEK on first use."""

    def __init__(self, path: Path, keks: list[_Kek], current: str) -> None:
        self.path = path
        self._keks = {k.id: k for k in keks}
        self._current = current
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int]:
        """Changes whenever the file is rewritten (each write renames a new inode into place)."""
        try:
            status = self.path.stat()
        except OSError:
            return (0, 0)
        return (status.st_ino, status.st_mtime_ns)

    def _reload(self) -> None:
        """Take up a rotation or retirement that another process wrote to the file."""
        stamp = self._stamp()
        keks, current = _read(self.path)
        self._keks, self._current, self._seen = {k.id: k for k in keks}, current, stamp

    @classmethod
    def open(cls, path: Path, *, development: bool) -> LocalKeyRing:
        """The key ring stored at ``path``, created (with one KEK) if there is none."""
        if not development:
            log.warning(
                "key ring %s is a local key file: whoever reads it opens every sealed identity "
                "and piece of evidence; keep it readable by this service's user only, and back "
                "it up apart from the data (trustdesk backup --keys-to)",
                path,
            )
        if not path.exists():
            with _locked(path):
                if not path.exists():
                    first = _new_kek()
                    _write(path, [first], first.id)
        return cls(path, *_read(path))

    def __repr__(self) -> str:
        return f"LocalKeyRing({str(self.path)!r}, ids={self.ids()!r})"

    def current_id(self) -> str:
        if self._stamp() != self._seen:
            self._reload()
        return self._current

    def ids(self) -> tuple[str, ...]:
        return tuple(self._keks)

    def rotate(self) -> str:
        """Add a new KEK and make it current; the old ones stay to unwrap. Returns its id."""
        with _locked(self.path):
            keks, _ = _read(self.path)  # another process may have rotated meanwhile
            new = _new_kek()
            _write(self.path, [*keks, new], new.id)
            self._reload()
        return new.id

    def retire(self, kek_id: str) -> None:
        """Remove a KEK that is no longer current; whatever it still wraps becomes unreadable.

        Callers check first that no stored data key is wrapped by it (``trustdesk vault
        retire`` does).
        """
        with _locked(self.path):
            keks, current = _read(self.path)
            if kek_id == current:
                raise KeyRingError(f"{kek_id} is the current key; rotate before retiring it")
            if kek_id not in {k.id for k in keks}:
                raise KeyRingError(f"the key ring {self.path} holds no key {kek_id[:64]!r}")
            _write(self.path, [k for k in keks if k.id != kek_id], current)
            self._reload()

    def wrap(self, data_key: bytes) -> tuple[str, bytes]:
        current = self.current_id()  # a rotation by another process takes effect at once
        return current, aes_key_wrap(self._keks[current].key, data_key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        if kek_id not in self._keks or self._stamp() != self._seen:
            self._reload()  # rotated or retired by another process since we loaded
        kek = self._keks.get(kek_id)
        if kek is None:
            raise UnknownKey(f"the key ring {self.path} holds no key {kek_id[:64]!r}")
        try:
            return aes_key_unwrap(kek.key, wrapped)
        except (InvalidUnwrap, ValueError) as exc:
            raise DecryptionFailed(f"the data key does not unwrap under {kek_id}") from exc


def open_configured(settings: Settings) -> LocalKeyRing:
    """The key ring at ``TRUSTDESK_KEYRING_PATH``; it warns outside development."""
    development = settings.environment is Environment.DEVELOPMENT
    return LocalKeyRing.open(settings.keyring_path, development=development)
