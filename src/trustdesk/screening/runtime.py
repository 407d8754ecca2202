"""Compiled screeners in a running process: built once per version, cached on disk, swapped live.

Compiling a large rule set is expensive (hyperscan: seconds per 10^5 literals), so the
compiled matchers are written to ``<cache_dir>/rulesets/<version>.bin`` and a restart or a
second worker loads them instead of recompiling. Which version a service uses is read from
the database (at most once a second per service), so a deploy through any worker reaches
every worker; requests in flight keep the screener they started with.
"""

from __future__ import annotations

import io
import json
import logging
import os
import struct
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from trustdesk.policy.schema import Pack
from trustdesk.screening import service
from trustdesk.screening.engine import CompiledParts, Screener, compile_screener
from trustdesk.screening.sources import RuleSetSource, load_archive

log = logging.getLogger("trustdesk.screening")
MAGIC = b"TDRS1\n"
ACTIVE_TTL_SECONDS = 1.0


def archive_folder(path: Path) -> bytes:
    """A deterministic zip of the regular files under ``path`` (or of one file)."""
    buffer = io.BytesIO()
    root = path if path.is_dir() else path.parent
    files = (
        sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        if path.is_dir()
        else [path]
    )
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            relative = file.relative_to(root).as_posix()
            if any(part.startswith(".") for part in relative.split("/")):
                continue
            info = zipfile.ZipInfo(relative, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def as_archive(data: bytes, filename: str) -> bytes:
    """An upload as the zip the store keeps: a zip as is, a single YAML file wrapped.

    As for a path (see ``load_ruleset``), a ``.zip`` name or a zip's signature makes it a zip.
    The file keeps its base name if that is a plain rule-file name (printable, not hidden);
    otherwise it is ``rules.yaml`` (a zip cuts a name at NUL, and a client names files freely).
    """
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".zip"):
        return data
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    plain = name.isprintable() and ":" not in name and not name.startswith(".")
    if not (plain and name.endswith((".yaml", ".yml"))):
        name = "rules.yaml"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def source_from_archive(archive: bytes, packs: Sequence[Pack]) -> RuleSetSource:
    """Load a rule set from its stored zip (through the same validation as any upload)."""
    return load_archive(archive, packs, name="upload.zip")


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


class ScreenerRegistry:
    """The screeners this process has built, and each service's active version."""

    def __init__(
        self, packs: Callable[[], Sequence[Pack]], cache: CompiledCache | None, keep: int = 8
    ) -> None:
        self._packs = packs
        self._cache = cache
        self._keep = keep
        self._screeners: OrderedDict[str, Screener] = OrderedDict()
        self._active: dict[uuid.UUID, tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}

    def add(self, source: RuleSetSource) -> Screener:
        """Compile (or load) a freshly deployed source before it becomes active."""
        return self._get(source.version, lambda: source)

    def for_service(self, session: Session, service_id: uuid.UUID) -> Screener | None:
        now = time.monotonic()
        seen = self._active.get(service_id)
        if seen is None or now - seen[0] > ACTIVE_TTL_SECONDS:
            seen = (now, service.active_version(session, service_id))
            self._active[service_id] = seen
        version = seen[1]
        if version is None:
            return None
        return self._get(
            version,
            lambda: source_from_archive(service.archive_of(session, version), self._packs()),
        )

    def forget_active(self, service_id: uuid.UUID) -> None:
        self._active.pop(service_id, None)

    def _get(self, version: str, source: Callable[[], RuleSetSource]) -> Screener:
        with self._lock:
            found = self._screeners.get(version)
            if found is not None:
                self._screeners.move_to_end(version)
                return found
            building = self._building.setdefault(version, threading.Lock())
        with building:
            with self._lock:
                found = self._screeners.get(version)
            if found is None:
                found = build_screener(source(), self._cache)
                with self._lock:
                    self._screeners[version] = found
                    while len(self._screeners) > self._keep:
                        self._screeners.popitem(last=False)
        return found
