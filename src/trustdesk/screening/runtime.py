"""Compiled screeners in a running process: built once per version, cached on disk, swapped live.

Compiling a large rule set is expensive (hyperscan: seconds per 10^5 literals), so the
compiled matchers are written to ``<cache_dir>/rulesets/<version>.bin`` and a restart or a
second worker loads them instead of recompiling. Which version a service uses is read from
the database (at most once a second per service), so a deploy through any worker reaches
every worker; requests in flight keep the screener they started with.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustdesk.db.engine import read_transaction
from trustdesk.policy.schema import Pack
from trustdesk.screening import service
from trustdesk.screening.cache import CompiledCache, build_screener
from trustdesk.screening.compiler import Compiled, Compiler
from trustdesk.screening.engine import Screener, compile_screener
from trustdesk.screening.models import RuleSetDeployment
from trustdesk.screening.sources import RuleSetSource, load_archive

__all__ = ["CompiledCache", "ScreenerRegistry", "archive_folder", "as_archive", "build_screener"]
log = logging.getLogger("trustdesk.screening")
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


class ScreenerRegistry:
    """The screeners this process holds, and each service's active version.

    At most ``keep`` versions stay in memory, the least recently used going first; a version
    needed again is loaded from the on-disk cache (checked in a ``compiler`` child, so the
    server never parses or compiles a rule set itself when it has one).
    """

    def __init__(
        self,
        packs: Callable[[], Sequence[Pack]],
        cache: CompiledCache | None,
        keep: int = 8,
        compiler: Compiler | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._packs = packs
        self._cache = cache
        self._keep = keep
        self._compiler = compiler
        self.clock = clock  # when active versions were read (tests give one they move)
        self._screeners: OrderedDict[str, Screener] = OrderedDict()
        self._active: dict[uuid.UUID, tuple[float, str | None]] = {}
        self._refreshing: set[uuid.UUID] = set()  # active versions being read again
        self._lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self.compiled = self.loaded = 0  # versions built by compiling, by loading the cache

    @property
    def compiler(self) -> Compiler | None:
        return self._compiler

    @property
    def held(self) -> tuple[str, ...]:
        """The versions in memory, the least recently used first."""
        with self._lock:
            return tuple(self._screeners)

    def add(self, compiled: Compiled | RuleSetSource, archive: bytes | None = None) -> Screener:
        """Build (or load) a freshly checked rule set before it becomes active; ``archive``
        (its zip) lets a compiler child rebuild it if its compiled parts are unusable."""
        if isinstance(compiled, RuleSetSource):
            compiled = Compiled(compiled, None)
        checked = compiled
        return self._get(checked.source.version, lambda: self._build(checked, archive))

    def for_service(self, session: Session, service_id: uuid.UUID) -> Screener | None:
        now = self.clock()
        seen = self._active.get(service_id)
        if seen is None or now - seen[0] > ACTIVE_TTL_SECONDS or service_id in self._refreshing:
            seen = (now, service.active_version(session, service_id))
            self._active[service_id] = seen
            self._refreshing.discard(service_id)
        version = seen[1]
        if version is None:
            return None

        def rebuild() -> Screener:
            archive = service.archive_of(session, version)
            if self._compiler is None:
                return self._build(Compiled(source_from_archive(archive, self._packs()), None))
            return self._build(self._compiler.rebuild(archive, self._packs()), archive)

        return self._get(version, rebuild)

    def warm(self, session: Session) -> list[str]:
        """Load every service's active rule set now (the server does before its first
        request), from the on-disk cache the processes share; the versions loaded.

        At most ``keep`` versions, those deployed last, are loaded: more would only push
        each other out of memory again.
        """
        latest = (
            select(
                RuleSetDeployment.service_id,
                func.max(RuleSetDeployment.sequence).label("sequence"),
            )
            .group_by(RuleSetDeployment.service_id)
            .subquery()
        )
        with read_transaction(session):
            rows = session.execute(
                select(RuleSetDeployment.service_id, RuleSetDeployment.version)
                .join(
                    latest,
                    (RuleSetDeployment.service_id == latest.c.service_id)
                    & (RuleSetDeployment.sequence == latest.c.sequence),
                )
                .order_by(RuleSetDeployment.deployed_at.desc())
            ).all()
        warmed: list[str] = []
        for service_id, version in rows:
            if version not in warmed and len(warmed) >= self._keep:
                continue
            try:
                self.for_service(session, service_id)
            except Exception:  # its requests will try again (and fail the same way)
                log.exception("loading rule set %s of service %s failed", version, service_id)
            else:
                if version not in warmed:
                    warmed.append(version)
        return warmed

    def in_memory(self, service_id: uuid.UUID) -> tuple[bool, Screener | None]:
        """``(True, screener)`` when :meth:`for_service` would answer without the database
        (the service's active version read less than a second ago, its screener held;
        None: no active rule set); ``(False, None)`` when it would need it, or (once past
        half a second) when this caller is to read the active version again."""
        known, screener, refresh = self.remembered(service_id)
        return (False, None) if refresh else (known, screener)

    def remembered(self, service_id: uuid.UUID) -> tuple[bool, Screener | None, bool]:
        """:meth:`in_memory`'s answer, and whether this caller is to refresh it (through
        :meth:`for_service`): True once past half its life, for the first caller to look,
        who may still use the screener while the refresh runs behind it."""
        seen = self._active.get(service_id)
        age = self.clock() - seen[0] if seen is not None else ACTIVE_TTL_SECONDS
        if seen is None or age > ACTIVE_TTL_SECONDS:
            return False, None, False
        refresh = age > ACTIVE_TTL_SECONDS / 2 and service_id not in self._refreshing
        if refresh:  # read again by this caller (through for_service) while others use it
            self._refreshing.add(service_id)
        if seen[1] is None:
            return True, None, refresh
        with self._lock:
            found = self._screeners.get(seen[1])
        return found is not None, found, refresh and found is not None

    def forget_active(self, service_id: uuid.UUID) -> None:
        self._active.pop(service_id, None)
        self._refreshing.discard(service_id)

    def _build(self, compiled: Compiled, archive: bytes | None = None) -> Screener:
        """A screener from ``compiled``'s parts, or the cache's, or (neither usable) compiled
        again: in a compiler child when there is one and ``archive`` is known."""
        source, parts = compiled.source, compiled.parts
        if parts is None and self._cache is not None:
            parts = self._cache.get(source.version)
        if parts is not None:
            try:
                screener = compile_screener(source, parts)[0]
            except Exception as exc:  # a stale or foreign cache file: compile again
                log.warning("recompiling rule set %s: cache unusable (%s)", source.version, exc)
            else:
                if compiled.parts is None:
                    self.loaded += 1
                else:
                    self.compiled += 1
                    if self._cache is not None:
                        self._cache.put(source.version, compiled.parts)
                return screener
        self.compiled += 1
        if self._compiler is not None and archive is not None:
            fresh = self._compiler.rebuild(archive, self._packs(), cached=False)
            assert fresh.parts is not None  # cached=False: always compiled
            if self._cache is not None:
                self._cache.put(source.version, fresh.parts)
            return compile_screener(fresh.source, fresh.parts)[0]
        screener, built = compile_screener(source)
        if self._cache is not None:
            self._cache.put(source.version, built)
        return screener

    def _get(self, version: str, build: Callable[[], Screener]) -> Screener:
        with self._lock:
            found = self._screeners.get(version)
            if found is not None:
                self._screeners.move_to_end(version)
                return found
            building = self._building.setdefault(version, threading.Lock())
        try:
            with building:
                with self._lock:
                    found = self._screeners.get(version)
                if found is None:
                    found = build()
                    with self._lock:
                        self._screeners[version] = found
                        while len(self._screeners) > self._keep:
                            self._screeners.popitem(last=False)
        finally:
            with self._lock:
                self._building.pop(version, None)
        return found
