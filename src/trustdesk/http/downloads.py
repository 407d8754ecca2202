"""Headers of a file answered for download (the API's and the console's alike)."""

from __future__ import annotations

import urllib.parse

MAX_FALLBACK = 100  # characters of the plain ASCII name old clients see


def attachment(name: str) -> str:
    """A ``Content-Disposition`` that saves ``name`` and never breaks out of the header.

    Old clients read ``filename``: ``name`` with every character that is not an ASCII letter,
    digit, ``.``, ``_`` or ``-`` replaced by ``_`` (no quote, slash or line break survives).
    Others read ``filename*``: the whole name, percent-encoded as UTF-8 (RFC 6266, 5987).
    """
    fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
    quoted = urllib.parse.quote(name, safe="")
    return f"attachment; filename=\"{fallback[:MAX_FALLBACK]}\"; filename*=UTF-8''{quoted}"
