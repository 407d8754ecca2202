"""Secret files kept outside the database: made on first use, mode 0600, written atomically."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from trustdesk.errors import ConfigurationError


def load_or_create(path: Path, make: Callable[[], str], *, what: str) -> str:
    """The text stored at ``path`` (stripped); ``make()`` written there first if none is.

    Creation is atomic: a reader never sees a half-written file, and two processes starting
    at once keep whichever file landed first.
    """
    if not path.exists():
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(make() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)  # fails if another process got there first
            except FileExistsError:
                pass
            finally:
                temporary.unlink(missing_ok=True)
        except OSError as exc:
            msg = f"cannot create the {what} {path}: {exc.strerror or exc.__class__.__name__}"
            raise ConfigurationError(msg) from exc
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read the {what} {path}: {exc.__class__.__name__}"
        raise ConfigurationError(msg) from exc


def load_or_create_key(path: Path, prefix: str, size: int, *, what: str) -> bytes:
    """A random ``size``-byte key kept at ``path`` as ``<prefix><base64>``; made there on
    first use. A file of another form is refused as corrupt, never replaced."""
    text = load_or_create(
        path,
        lambda: prefix + base64.b64encode(secrets.token_bytes(size)).decode("ascii"),
        what=what,
    )
    try:
        key = base64.b64decode(text.removeprefix(prefix), validate=True)
    except binascii.Error:
        key = b""
    if not text.startswith(prefix) or len(key) != size:
        msg = f"the {what} {path} is corrupt (expected {prefix}<base64 of {size} bytes>)"
        raise ConfigurationError(msg)
    return key
