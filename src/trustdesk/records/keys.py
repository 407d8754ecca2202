"""The checkpoint signing key: made on first start, kept in a file outside the database."""

from __future__ import annotations

from pathlib import Path

from trustdesk.crypto.keyfile import load_or_create
from trustdesk.errors import ConfigurationError
from trustdesk.records.note import NoteKeyError, NoteSigner, generate_signer, parse_signer_key


def load_or_create_signer(path: Path, origin: str) -> NoteSigner:
    """The signer whose key is stored at ``path``; a new key named ``origin`` if none is."""
    text = load_or_create(path, lambda: generate_signer(origin)[0], what="log signing key")
    try:
        signer = parse_signer_key(text)
    except NoteKeyError as exc:
        msg = f"cannot read the log signing key {path}: {exc.__class__.__name__}"
        raise ConfigurationError(msg) from exc
    if signer.name != origin:
        msg = (
            f"the log signing key {path} is named {signer.name!r} but TRUSTDESK_LOG_ORIGIN is "
            f"{origin!r}; a log keeps its origin for life"
        )
        raise ConfigurationError(msg)
    return signer
