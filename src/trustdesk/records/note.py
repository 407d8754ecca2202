"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and checkpoints (tlog-checkpoint).

A checkpoint body is ``<origin>\\n<tree size>\\n<base64 root hash>\\n``, then any extension lines.
A signed note is a body, a blank line, then signature lines ``— <key name> <base64(key ID ||
signature)>`` (an em dash, U+2014); the Ed25519 signature covers the body including its final
newline, and the key ID is SHA-256(key name || 0x0A || 0x01 || public key)[:4]. Key strings are
those of golang.org/x/mod/sumdb/note: ``<name>+<hex key ID>+<base64(0x01 || public key)>`` for
verifiers, ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`` for signers.

    InvalidInput
    ├── NoteError       invalid_note       malformed note or checkpoint, or no known key signed it
    └── NoteKeyError    invalid_note_key   malformed signer or verifier key string
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from trustdesk.errors import InvalidInput

MAX_NOTE_SIZE = 1 << 20  # bytes, for a whole signed note and for a checkpoint body
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note; the spec asks for at least 16
_ALG_ED25519 = b"\x01"
_SIGNATURE_PREFIX = "\u2014 "
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")  # ASCII controls other than newline
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")  # uint64 has at most 20 digits
_KEY_ID = re.compile(r"[0-9a-f]{8}")


class NoteError(InvalidInput):
    """A signed note or checkpoint is malformed, or no known key's signature verifies."""

    code = "invalid_note"
    title = "Invalid signed note"


class NoteKeyError(InvalidInput):
    """A signer or verifier key string is malformed or does not match its key ID."""

    code = "invalid_note_key"
    title = "Invalid note key"


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes | None:
    """Standard padded base64 in its one canonical spelling, or None."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if _b64encode(data) == text else None


def _is_line(text: str) -> bool:
    """Non-empty UTF-8 text with no newline or other ASCII control character."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return bool(text) and "\n" not in text and _CONTROL.search(text) is None


def _is_key_name(name: str) -> bool:
    """Non-empty, with no Unicode spaces, pluses or control characters."""
    return _is_line(name) and "+" not in name and not any(c.isspace() for c in name)


def _decode(note: str | bytes, what: str) -> str:
    """The note as text, if it is at most MAX_NOTE_SIZE bytes of well-formed text."""
    if len(note) > MAX_NOTE_SIZE:
        raise NoteError(f"the {what} is over {MAX_NOTE_SIZE} bytes")
    try:
        raw = note.encode("utf-8") if isinstance(note, str) else note
        text = raw.decode("utf-8")
    except UnicodeError as exc:
        raise NoteError(f"the {what} is not UTF-8") from exc
    if len(raw) > MAX_NOTE_SIZE:
        raise NoteError(f"the {what} is over {MAX_NOTE_SIZE} bytes")
    if _CONTROL.search(text):
        raise NoteError(f"the {what} contains a control character")
    return text


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + _ALG_ED25519 + public_key).digest()[:4]


class NoteVerifier:
    """Checks one named Ed25519 key's signatures."""

    def __init__(self, name: str, public_key: Ed25519PublicKey) -> None:
        if not _is_key_name(name):
            raise NoteKeyError(f"{name!r} is not a key name: empty, or with a space or '+'")
        self.name = name
        self.public_key = public_key
        self.key_id = key_id(name, public_key.public_bytes_raw())

    def verify(self, body: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, body)
        except InvalidSignature:
            return False
        return True

    def key_string(self) -> str:
        raw = _ALG_ED25519 + self.public_key.public_bytes_raw()
        return f"{self.name}+{self.key_id.hex()}+{_b64encode(raw)}"

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}"

    def __repr__(self) -> str:
        return f"NoteVerifier({self})"


class NoteSigner:
    """Signs note bodies with one named Ed25519 key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.verifier = NoteVerifier(name, private_key.public_key())
        self._private_key = private_key

    @property
    def name(self) -> str:
        return self.verifier.name

    def sign(self, body: bytes) -> str:
        """The signed note: ``body``, a blank line and this key's signature line."""
        text = _decode(body, "note body")
        if not text.endswith("\n"):
            raise NoteError("a note body must end with a newline")
        signature = self.verifier.key_id + self._private_key.sign(body)
        note = f"{text}\n{_SIGNATURE_PREFIX}{self.name} {_b64encode(signature)}\n"
        _decode(note, "signed note")
        return note

    def private_key_string(self) -> str:
        """The secret ``PRIVATE+KEY+...`` string; keep it in the vault."""
        seed = self._private_key.private_bytes_raw()
        name, hex_id = self.name, self.verifier.key_id.hex()
        return f"PRIVATE+KEY+{name}+{hex_id}+{_b64encode(_ALG_ED25519 + seed)}"

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier})"


def generate_signer(name: str) -> tuple[str, str]:
    """A new key: its signer (private) and verifier key strings."""
    signer = NoteSigner(name, Ed25519PrivateKey.generate())
    return signer.private_key_string(), signer.verifier.key_string()


def _parse_key(text: str, what: str) -> tuple[str, bytes, bytes]:
    """Name, key ID and key bytes of ``<name>+<hex key ID>+<base64(0x01 || key)>``."""
    name, _, rest = text.partition("+")
    hex_id, _, encoded = rest.partition("+")
    raw = _b64decode(encoded)
    if not _is_key_name(name) or not _KEY_ID.fullmatch(hex_id) or raw is None:
        raise NoteKeyError(f"malformed {what} key string")
    if len(raw) != 33 or raw[:1] != _ALG_ED25519:
        raise NoteKeyError(f"the {what} key is not an Ed25519 key")
    return name, bytes.fromhex(hex_id), raw[1:]


def parse_verifier_key(text: str) -> NoteVerifier:
    name, wanted_id, raw = _parse_key(text, "verifier")
    try:
        verifier = NoteVerifier(name, Ed25519PublicKey.from_public_bytes(raw))
    except ValueError as exc:
        raise NoteKeyError("the verifier key is not an Ed25519 public key") from exc
    if verifier.key_id != wanted_id:
        raise NoteKeyError("the verifier key does not match its key ID")
    return verifier


def parse_signer_key(text: str) -> NoteSigner:
    if not text.startswith("PRIVATE+KEY+"):
        raise NoteKeyError("a signer key string starts with PRIVATE+KEY+")
    name, wanted_id, raw = _parse_key(text.removeprefix("PRIVATE+KEY+"), "signer")
    signer = NoteSigner(name, Ed25519PrivateKey.from_private_bytes(raw))
    if signer.verifier.key_id != wanted_id:
        raise NoteKeyError("the signer key does not match its key ID")
    return signer


class OpenedNote(NamedTuple):
    """A verified note's body, and the known keys whose signatures on it verified."""

    body: bytes
    signers: tuple[NoteVerifier, ...]


def _signature_line(line: str) -> tuple[str, bytes, bytes]:
    """Name, key ID and signature of one signature line."""
    if not line.startswith(_SIGNATURE_PREFIX):
        raise NoteError(f"a signature line starts with an em dash and a space: {line[:80]!r}")
    name, _, encoded = line.removeprefix(_SIGNATURE_PREFIX).partition(" ")
    raw = _b64decode(encoded)
    if not _is_key_name(name) or raw is None:
        raise NoteError(f"malformed signature line {line[:80]!r}")
    if len(raw) < 5:
        raise NoteError(f"signature by {name} is too short")
    return name, raw[:4], raw[4:]


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> OpenedNote:
    """The body of a note and the known keys that signed it; signatures by other keys are ignored.

    Fails if the note is malformed, if a known key's signature does not verify, or if none does.
    """
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for key in verifiers:
        other = known.setdefault((key.name, key.key_id), key)
        if other.public_key.public_bytes_raw() != key.public_key.public_bytes_raw():
            raise NoteKeyError(f"two different verifier keys are both {key}")
    text = _decode(note, "signed note")
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("no blank line separates the note body from its signatures")
    body, block = text[: split + 1].encode("utf-8"), text[split + 2 :]
    if not block.endswith("\n"):
        raise NoteError("a signed note ends with a signature line and a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    signers: dict[tuple[str, bytes], NoteVerifier] = {}
    for line in lines:
        name, signer_id, signature = _signature_line(line)
        verifier = known.get((name, signer_id))
        if verifier is None or (name, signer_id) in signers:
            continue
        if not verifier.verify(body, signature):
            raise NoteError(f"the signature by {verifier} does not verify")
        signers[name, signer_id] = verifier
    if not signers:
        raise NoteError("no signature by a known key")
    return OpenedNote(body, tuple(signers.values()))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, tree size and root hash (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(self.extensions))
        if not _is_line(self.origin):
            raise NoteError("a checkpoint origin is one non-empty line of text")
        if not 0 <= self.size < 1 << 64:
            raise NoteError(f"tree size {self.size} is out of range")
        if len(self.root_hash) != 32:
            raise NoteError(f"a root hash has 32 bytes, not {len(self.root_hash)}")
        if not all(_is_line(extension) for extension in self.extensions):
            raise NoteError("a checkpoint extension is one non-empty line of text")

    def body(self) -> bytes:
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(f"{line}\n" for line in lines).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        """Read a checkpoint body strictly."""
        text = _decode(body, "checkpoint")
        lines = text.split("\n")
        if len(lines) < 4 or lines.pop() != "":
            raise NoteError("a checkpoint has at least three lines, each ending in a newline")
        origin, size, root_hash, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise NoteError(f"tree size {size[:40]!r} is not a decimal number")
        decoded = _b64decode(root_hash)
        if decoded is None:
            raise NoteError("the root hash is not base64")
        return cls(origin, int(size), decoded, tuple(extensions))


def open_checkpoint(
    note: str | bytes, verifiers: Iterable[NoteVerifier], *, origin: str | None = None
) -> Checkpoint:
    """The checkpoint in a signed note, from ``origin`` if given, signed by a known key."""
    checkpoint = Checkpoint.parse(open_note(note, verifiers).body)
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is from {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
