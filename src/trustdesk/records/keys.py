"""The checkpoint signing key: made on first start, kept in a file outside the database."""

from __future__ import annotations

import os
from pathlib import Path

from trustdesk.errors import ConfigurationError
from trustdesk.records.note import NoteKeyError, NoteSigner, generate_signer, parse_signer_key


def load_or_create_signer(path: Path, origin: str) -> NoteSigner:
    """The signer whose key is stored at ``path``; a new key named ``origin`` if none is."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private, _ = generate_signer(origin)
        temporary = path.with_name(path.name + ".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(private + "\n")
        temporary.replace(path)
    try:
        signer = parse_signer_key(path.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError, NoteKeyError) as exc:
        msg = f"cannot read the log signing key {path}: {exc.__class__.__name__}"
        raise ConfigurationError(msg) from exc
    if signer.name != origin:
        msg = (
            f"the log signing key {path} is named {signer.name!r} but TRUSTDESK_LOG_ORIGIN is "
            f"{origin!r}; a log keeps its origin for life"
        )
        raise ConfigurationError(msg)
    return signer
