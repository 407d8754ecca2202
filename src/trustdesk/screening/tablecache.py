"""Per-code-point tables kept on disk, so a process starts without rebuilding them.

Normalization's folding tables (:mod:`trustdesk.screening.normtables`) and the word-character
table (:mod:`trustdesk.screening.literals`) are derived from Unicode data and OpenCC's
dictionary by walking all 1.1 million code points: about a second on an idle core, three on
a busy one, in every process that screens. A command that starts often (``trustdesk scan``)
loads its screener inside :func:`kept_in` a folder beside its compiled rule sets; the tables
are then read from there (a few milliseconds) and written there after a build.

A file is named by a digest of what the table depends on: its name and parameters, the
Python and Unicode versions, OpenCC's version and the source of the modules that build it,
so a change to any of them builds anew. Its content carries a SHA-256 of its body; a
damaged file is ignored (and rebuilt over). Without a folder nothing touches the disk.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("trustdesk.screening")
MAGIC = b"TDTB1\n"
_BUILDERS = ("normtables.py", "literals.py")  # the modules whose code the tables come from

_folder: Path | None = None


@contextmanager
def kept_in(folder: Path | None) -> Iterator[None]:
    """Read and write tables in ``folder`` inside the block (None: in memory only). Tables
    loaded inside stay loaded (in memory) after it."""
    global _folder  # noqa: PLW0603  (one folder at a time, set by the process's entry point)
    before, _folder = _folder, folder
    try:
        yield
    finally:
        _folder = before


def _path(name: str, parameters: str) -> Path | None:
    if _folder is None:
        return None
    import opencc  # noqa: PLC0415  (imported by normtables already; its version keys the file)

    here = Path(__file__).parent
    digest = hashlib.sha256()
    for part in (name, parameters, sys.version, unicodedata.unidata_version):
        digest.update(part.encode() + b"\0")
    digest.update(str(getattr(opencc, "__version__", "?")).encode() + b"\0")
    for builder in _BUILDERS:
        digest.update((here / builder).read_bytes())
    return _folder / f"{name}-{digest.hexdigest()[:32]}.bin"


def read(name: str, parameters: str = "") -> bytes | None:
    """The stored body of table ``name`` built with ``parameters``, if it is there and whole."""
    path = _path(name, parameters)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 32
    whole = hashlib.sha256(data[head:]).digest() == data[len(MAGIC) : head]
    if data[: len(MAGIC)] != MAGIC or not whole:
        log.warning("ignoring a damaged table cache file %s", path)
        return None
    return data[head:]


def write(name: str, body: bytes, parameters: str = "") -> None:
    """Store table ``name`` (atomically: a reader sees the old file or the new one)."""
    path = _path(name, parameters)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(handle, "wb") as out:
            out.write(MAGIC + hashlib.sha256(body).digest() + body)
        Path(temporary).replace(path)
    except OSError as exc:  # a read-only or full disk costs the next start time, nothing else
        log.warning("cannot store table %s in %s: %s", name, path.parent, exc)
