"""Compiled matchers on disk, one file per rule-set version (``<folder>/<version>.bin``).

Compiling a large rule set is expensive, so its compiled parts are kept: a restart, a second
worker or a version evicted from a process's memory loads them instead of recompiling.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import tempfile
from pathlib import Path

from trustdesk.screening.engine import CompiledParts, Screener, compile_screener
from trustdesk.screening.sources import RuleSetSource

log = logging.getLogger("trustdesk.screening")
MAGIC = b"TDRS1\n"


class CompiledCache:
    """Compiled matcher bytes on disk, one file per rule-set version."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, version: str) -> Path:
        return self.folder / f"{version}.bin"

    def get(self, version: str) -> CompiledParts | None:
        try:
            data = self._path(version).read_bytes()
        except OSError:
            return None
        try:
            if not data.startswith(MAGIC):
                raise ValueError("not a compiled rule set")
            (header_length,) = struct.unpack_from(">I", data, len(MAGIC))
            offset = len(MAGIC) + 4
            header = json.loads(data[offset : offset + header_length])
            body = data[offset + header_length :]
            literals = body[: header["literals"]]
            exceptions = body[header["literals"] : header["literals"] + header["exceptions"]]
            if header["version"] != version or len(exceptions) != header["exceptions"]:
                raise ValueError("truncated or for another version")
        except (ValueError, KeyError, struct.error) as exc:
            log.warning(
                "ignoring a broken compiled rule-set cache %s: %s", self._path(version), exc
            )
            return None
        return CompiledParts(literals, exceptions)

    def put(self, version: str, parts: CompiledParts) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        header = json.dumps(
            {
                "version": version,
                "literals": len(parts.literals),
                "exceptions": len(parts.exceptions),
            }
        ).encode()
        data = MAGIC + struct.pack(">I", len(header)) + header + parts.literals + parts.exceptions
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{version}.")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        Path(temporary).replace(self._path(version))


def build_screener(source: RuleSetSource, cache: CompiledCache | None) -> Screener:
    """Compile ``source``, or load its compiled parts from ``cache``."""
    cached = cache.get(source.version) if cache else None
    if cached is not None:
        try:
            return compile_screener(source, cached)[0]
        except Exception as exc:  # a stale or foreign cache file: recompile
            log.warning("recompiling rule set %s: cache unusable (%s)", source.version, exc)
    screener, parts = compile_screener(source)
    if cache is not None:
        cache.put(source.version, parts)
    return screener
