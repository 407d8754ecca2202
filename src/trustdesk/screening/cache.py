"""Compiled matchers on disk, one file per rule-set version (``<folder>/<version>.bin``).

Compiling a large rule set is expensive, so its compiled parts are kept: a restart, a second
worker or a version evicted from a process's memory loads them instead of recompiling.

Every deploy of every service adds a file, so the folder is held to a size: after each write
the least recently used files past ``max_bytes`` are removed (a read marks a file used), and
so are the temporary files of writers that died. Everything here can be rebuilt from the
stored upload; several processes may prune at once, and a file removed under a reader is
still read whole (it was opened first).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import struct
import tempfile
import time
from pathlib import Path

from trustdesk.screening.engine import CompiledParts, Screener, compile_screener
from trustdesk.screening.sources import RuleSetSource
from trustdesk.settings import Settings

log = logging.getLogger("trustdesk.screening")
MAGIC = b"TDRS1\n"
MAX_BYTES = 1024 * 1024 * 1024  # as the ``ruleset_cache_max_bytes`` setting's default
ABANDONED_SECONDS = 3600.0  # a temporary file this old belongs to a writer that died


class CompiledCache:
    """Compiled matcher bytes on disk, one file per rule-set version, at most ``max_bytes``."""

    def __init__(self, folder: Path, max_bytes: int = MAX_BYTES) -> None:
        # Absolute now: a compiler child forked from a zygote started elsewhere, or a
        # process that changes its folder later, finds the same files.
        self.folder, self.max_bytes = folder.absolute(), max_bytes

    @classmethod
    def of(cls, settings: Settings) -> CompiledCache:
        """The cache in the settings' folder (``<cache_dir>/rulesets``), held to their size."""
        return cls(settings.cache_dir / "rulesets", settings.ruleset_cache_max_bytes)

    def _path(self, version: str) -> Path:
        return self.folder / f"{version}.bin"

    def get(self, version: str) -> CompiledParts | None:
        path = self._path(version)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        with contextlib.suppress(OSError):  # used now: the last to go (a read-only folder: no)
            os.utime(path)
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
        self.prune(keep=version)

    def prune(self, keep: str | None = None) -> int:
        """Remove the least recently used files past ``max_bytes`` (never ``keep``'s) and
        abandoned temporary files; how many were removed."""
        now, kept, removed = time.time(), 0, 0
        files: list[tuple[float, int, Path]] = []
        try:
            entries = os.scandir(self.folder)
        except FileNotFoundError:
            return 0
        with entries:
            for entry in entries:
                try:
                    stat = entry.stat(follow_symlinks=False)
                except OSError:  # removed by another process meanwhile
                    continue
                path = Path(entry.path)
                if entry.name.startswith("."):
                    if now - stat.st_mtime > ABANDONED_SECONDS:
                        removed += _remove(path)
                elif entry.name.endswith(".bin") and entry.is_file(follow_symlinks=False):
                    files.append((stat.st_mtime, stat.st_size, path))
        for _, size, path in sorted(files, reverse=True):  # the most recently used first
            kept += size
            if kept > self.max_bytes and path != self._path(keep or ""):
                removed += _remove(path)
        if removed:
            log.info("removed %d compiled rule set(s) from %s", removed, self.folder)
        return removed


def _remove(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:  # another process pruned it first
        return 0
    return 1


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
