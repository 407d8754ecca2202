"""Load a rule set (a folder, one YAML file, or a zip of a folder) into checked rules.

Every problem of every file is raised at once as a :class:`SourceError`, each at
file:line:col (problems inside a terms file point into that file).  Links, paths leaving the
rule set and oversized archives are refused.  An archive is held to :class:`Limits` as it is
unpacked, not only by the sizes its directory declares: entries, bytes per entry and in all,
and the compression ratio are counted as the bytes come out, so a zip bomb costs at most the
limit and is refused early.  The terms and rules one rule set may hold are :class:`Limits`
too (a service's quotas); beyond them the load stops with :class:`RuleSetQuotaExceeded`.
The ``version`` is the hex SHA-256 of
``trustdesk-ruleset-v1\\n`` then, for every file read in path order, the path's length (4 bytes,
big-endian), the path (UTF-8, relative to the rule-set root), the content's length (8 bytes)
and the content's SHA-256: the same files give the same version from a folder or a zip.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import stat
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from trustdesk import yamlsource
from trustdesk.errors import InvalidInput, SourceError, SourceLocation
from trustdesk.policy.schema import Pack
from trustdesk.screening.rules import Checks, Normalization, Origin, Rule, RuleFile, RuleSpec
from trustdesk.screening.rules import parse_terms as _parse_terms

MAX_RULE_FILES = 1_000
MAX_RULESET_BYTES = 512 * 1024 * 1024  # every file read (rule files and terms files)
MAX_YAML_BYTES = 8 * 1024 * 1024  # YAML parsing is slow: long lists belong in terms files
MAX_TERMS = 5_000_000  # terms and except_terms over the whole rule set
MAX_TERMS_FILE_LINES = 5_000_000
MAX_ARCHIVE_ENTRIES = 10_000
MAX_RULES = 100_000
MAX_COMPRESSION_RATIO = 500  # deflated text seldom shrinks 20 times; a bomb of zeros, 1,000
RATIO_FREE_BYTES = 1 << 20  # an entry unpacking to less is never refused for its ratio
MAX_PATH_DEPTH = 16  # folders in an entry's name
MAX_PATH_CHARS = 512
CHUNK = 1 << 16  # an archive entry is unpacked this much at a time
RULE_SUFFIXES = (".yaml", ".yml")
Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


class RuleSetQuotaExceeded(InvalidInput):
    """The rule set holds more than a service may deploy (terms, rules or bytes)."""

    code = "ruleset_quota_exceeded"
    title = "Rule set over quota"


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one rule set may unpack to and hold; ``None`` takes the module's ceiling.

    ``unpacked_bytes`` counts every file read (an archive's entries in all, as unpacked),
    ``member_bytes`` one entry, ``members`` the archive's entries, ``ratio`` how many times
    smaller than its content an entry may be packed (entries under ``RATIO_FREE_BYTES`` are
    not held to it); ``terms`` (with except_terms) and ``rules`` are the service's quotas.
    """

    unpacked_bytes: int | None = None
    member_bytes: int | None = None
    members: int | None = None
    ratio: int | None = None
    terms: int | None = None
    rules: int | None = None

    def resolved(self) -> _Bounds:
        """These limits, each at most its module ceiling (read now: tests lower them)."""

        def pick(value: int | None, ceiling: int) -> int:
            return ceiling if value is None else min(value, ceiling)

        return _Bounds(
            pick(self.unpacked_bytes, MAX_RULESET_BYTES),
            pick(self.member_bytes, MAX_RULESET_BYTES),
            pick(self.members, MAX_ARCHIVE_ENTRIES),
            pick(self.ratio, MAX_COMPRESSION_RATIO),
            pick(self.terms, MAX_TERMS),
            pick(self.rules, MAX_RULES),
        )


@dataclass(frozen=True, slots=True)
class _Bounds:
    """:class:`Limits` resolved: every one a number."""

    total: int
    member_bytes: int
    members: int
    ratio: int
    terms: int
    rules: int


class _Refused(Exception):
    """A file the rule set cannot use; the message says why."""


_NOT = "not allowed in a rule-set archive"


class _TooLarge(_Refused):
    """A file larger than the room left for it (told before it is read or unpacked)."""


@dataclass(frozen=True, slots=True)
class RuleSetSource:
    """A checked rule set: its rules in file order, normalization, files read and version."""

    version: str
    rules: tuple[Rule, ...]
    normalization: Normalization
    files: tuple[str, ...]


def load_ruleset(path: Path, packs: Sequence[Pack], limits: Limits | None = None) -> RuleSetSource:
    """Check the rule set at ``path`` (folder, YAML file or zip) against ``packs``."""
    bounds = (limits or Limits()).resolved()
    if path.is_dir():
        return _Loader(_Folder(path), Checks.of(packs), bounds).load()
    _refuse_if(not path.is_file(), str(path), "no such file or folder")
    with path.open("rb") as file:
        is_zip = file.read(4) == b"PK\x03\x04" or path.suffix == ".zip"
    if not is_zip:
        return _Loader(_Folder(path.parent, only=path.name), Checks.of(packs), bounds).load()
    size = path.stat().st_size
    _refuse_if(size > bounds.total, str(path), f"larger than {bounds.total} bytes")
    return load_archive(path.read_bytes(), packs, name=str(path), limits=limits)


def load_archive(
    data: bytes,
    packs: Sequence[Pack] | Checks,
    *,
    name: str = "ruleset.zip",
    limits: Limits | None = None,
) -> RuleSetSource:
    """Check the rule set in the zip ``data``; ``name`` prefixes file names in messages.

    ``packs`` may be given as the :class:`Checks` they make (what a compiler process gets)."""
    bounds = (limits or Limits()).resolved()
    checks = packs if isinstance(packs, Checks) else Checks.of(packs)
    with _Archive.open(data, name, bounds) as archive:
        return _Loader(archive, checks, bounds).load()


def _refuse_if(condition: bool, file: str, message: str) -> None:
    if condition:
        raise SourceError([SourceLocation(file, 1, 1, message)])


def _rule_file(name: str) -> bool:
    return name.endswith(RULE_SUFFIXES) and not name.startswith(".")


def _unique(items: Sequence[str]) -> tuple[str, ...]:
    """``items`` without repeats, in order (the set is the fast check for the common case)."""
    return tuple(items) if len(set(items)) == len(items) else tuple(dict.fromkeys(items))


def _hidden(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return any(part.startswith(".") for part in parts) or parts[:1] == ("__MACOSX",)


class _Folder:
    def __init__(self, root: Path, only: str | None = None) -> None:
        self.root, self.only = root, only
        self.total = MAX_RULESET_BYTES  # set by the loader to its limit

    def display(self, name: str) -> str:
        return str(self.root / name)

    def rule_files(self) -> list[str]:
        if self.only is not None:
            return [self.only]
        found: list[str] = []
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            base = Path(folder).relative_to(self.root)
            found += [(base / f).as_posix() for f in files if _rule_file(f)]
            message = f"more than {MAX_RULE_FILES} rule files"
            _refuse_if(len(found) > MAX_RULE_FILES, str(self.root), message)
        _refuse_if(not found, str(self.root), "no rule files (*.yaml, *.yml) in this folder")
        return sorted(found)

    def read(self, name: str, limit: int) -> bytes:
        if _hidden(name):  # as in an archive: hidden files are no part of a rule set
            raise _Refused("no such file in the rule set (hidden files are skipped)")
        path = self.root
        for part in PurePosixPath(name).parts:
            path /= part
            if path.is_symlink():
                raise _Refused("symbolic links are not followed")
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise _Refused("not a regular file")
            if info.st_size > limit:
                raise _TooLarge(f"the rule set would exceed {self.total} bytes")
            return path.read_bytes()
        except FileNotFoundError:
            raise _Refused("no such file in the rule set") from None
        except OSError as exc:
            raise _Refused(f"cannot be read: {exc.strerror}") from exc


class _Archive:
    def __init__(self, archive: zipfile.ZipFile, name: str, limits: _Bounds) -> None:
        self.archive, self.name, self.limits = archive, name, limits
        self.total = limits.total
        self.members: dict[str, zipfile.ZipInfo] = {}
        problems: list[SourceLocation] = []
        infos = archive.infolist()
        most = limits.members
        _refuse_if(len(infos) > most, name, f"more than {most} entries")
        for info in infos:
            entry = info.filename
            problem = self._problem(info)
            if problem:
                problems.append(SourceLocation(f"{name}/{entry}", 1, 1, problem))
            elif not (info.is_dir() or _hidden(entry)):
                self.members[entry] = info
        total = sum(info.file_size for info in self.members.values())  # as declared
        if total > self.total:
            message = f"unpacks to {total} bytes; a rule set holds at most {self.total}"
            problems.append(SourceLocation(name, 1, 1, message))
        if problems:
            raise SourceError(problems)

    @classmethod
    @contextmanager
    def open(cls, data: bytes, name: str, limits: _Bounds) -> Iterator[_Archive]:
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            ValueError,
            EOFError,
            NotImplementedError,  # an entry needing a newer zip version than zipfile reads
        ) as exc:
            raise SourceError([SourceLocation(name, 1, 1, f"not a zip archive: {exc}")]) from exc
        with archive:
            yield cls(archive, name, limits)

    def _problem(self, info: zipfile.ZipInfo) -> str:
        name = info.filename  # zipfile cuts a name at a NUL: orig_filename keeps it
        parts = name.split("/")
        checks = (
            (not name or "\x00" in info.orig_filename, "an entry's name is empty or holds a NUL"),
            (name.startswith("/") or "\\" in name or ":" in parts[0], f"absolute paths are {_NOT}"),
            (".." in parts, f"'..' is {_NOT}"),
            (stat.S_ISLNK(info.external_attr >> 16), f"symbolic links are {_NOT}"),
            (bool(info.flag_bits & 0x1), "encrypted entries are not supported"),
            (name in self.members, "the archive holds this name twice"),
            (len(name) > MAX_PATH_CHARS, f"a name is at most {MAX_PATH_CHARS} characters"),
            (len(parts) > MAX_PATH_DEPTH + 1, f"folders nest at most {MAX_PATH_DEPTH} deep"),
            (info.file_size > self._member_bytes, self._member_message(info.file_size)),
            (self._too_packed(info.file_size, info.compress_size), self._ratio_message(info)),
        )
        return next((message for failed, message in checks if failed), "")

    @property
    def _member_bytes(self) -> int:
        return self.limits.member_bytes

    def _member_message(self, size: int) -> str:
        return f"unpacks to {size} bytes; an entry holds at most {self._member_bytes}"

    def _too_packed(self, unpacked: int, packed: int) -> bool:
        ratio = self.limits.ratio
        return unpacked > RATIO_FREE_BYTES and unpacked > ratio * max(packed, 1)

    def _ratio_message(self, info: zipfile.ZipInfo, unpacked: int | None = None) -> str:
        size = info.file_size if unpacked is None else unpacked
        return (
            f"unpacks to {'more than ' if unpacked else ''}{size} bytes from "
            f"{info.compress_size}: more than {self.limits.ratio} times its packed size "
            "(a likely zip bomb)"
        )

    def display(self, name: str) -> str:
        return f"{self.name}/{name}"

    def rule_files(self) -> list[str]:
        found = sorted(name for name in self.members if name.endswith(RULE_SUFFIXES))
        _refuse_if(len(found) > MAX_RULE_FILES, self.name, f"more than {MAX_RULE_FILES} rule files")
        _refuse_if(not found, self.name, "no rule files (*.yaml, *.yml) in this archive")
        return found

    def read(self, name: str, limit: int) -> bytes:
        """The entry ``name``, unpacked a chunk at a time and counted as it comes out (the
        sizes an archive declares are checked first, never trusted alone)."""
        info = self.members.get(name)
        if info is None:
            raise _Refused("no such file in the rule set")
        if info.file_size > limit:
            raise _TooLarge(f"the rule set would exceed {self.total} bytes")
        cap = min(limit, self._member_bytes)
        chunks: list[bytes] = []
        unpacked = 0
        try:
            with self.archive.open(info) as member:
                while chunk := member.read(CHUNK):
                    unpacked += len(chunk)
                    if unpacked > cap:
                        raise (
                            _TooLarge(f"the rule set would exceed {self.total} bytes")
                            if cap == limit
                            else _Refused(self._member_message(unpacked))
                        )
                    if self._too_packed(unpacked, info.compress_size):
                        raise _Refused(self._ratio_message(info, unpacked))
                    chunks.append(chunk)
        # ValueError: a header offset outside the archive (zipfile seeks to it unchecked).
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError) as exc:
            raise _Refused(f"cannot be unpacked: {exc}") from exc
        return b"".join(chunks)


class _Loader:
    def __init__(self, tree: _Folder | _Archive, checks: Checks, limits: _Bounds) -> None:
        self.tree, self.checks, self.limits = tree, checks, limits
        self.total = tree.total = limits.total
        self.problems: list[SourceLocation] = []
        self.digests: dict[str, tuple[int, bytes]] = {}  # path -> (size, SHA-256)
        self.lists: dict[str, list[str] | None] = {}  # terms files read (None: unusable)
        self.rules: list[Rule] = []
        self.ids: dict[str, Origin] = {}
        self.bytes = self.yaml_bytes = self.terms = 0
        self.normalization: tuple[Normalization, Origin] | None = None

    def load(self) -> RuleSetSource:
        for name in self.tree.rule_files():
            self._file(name)
        if self.problems:
            raise SourceError(sorted(self.problems, key=lambda p: (p.file, p.line, p.column)))
        return RuleSetSource(
            version=self._version(),
            rules=tuple(self.rules),
            normalization=self.normalization[0] if self.normalization else Normalization(),
            files=tuple(sorted(self.digests)),
        )

    def _version(self) -> str:
        digest = hashlib.sha256(b"trustdesk-ruleset-v1\n")
        for name in sorted(self.digests):
            size, content = self.digests[name]
            encoded = name.encode("utf-8")
            digest.update(len(encoded).to_bytes(4, "big") + encoded)
            digest.update(size.to_bytes(8, "big") + content)
        return digest.hexdigest()

    def _read(self, name: str, limit: int = MAX_RULESET_BYTES) -> bytes:
        raw = self.tree.read(name, min(limit, self.total - self.bytes))
        self.bytes += len(raw)
        self.digests[name] = (len(raw), hashlib.sha256(raw).digest())
        return raw

    def _file(self, name: str) -> None:
        display = self.tree.display(name)
        try:
            room = MAX_YAML_BYTES - self.yaml_bytes  # nothing larger is even unpacked
            try:
                raw = self._read(name, room)
            except _TooLarge:
                if room >= self.total - self.bytes:
                    raise
                message = f"rule files exceed {MAX_YAML_BYTES} bytes in all; put long term lists"
                raise _Refused(f"{message} in terms files") from None
            self.yaml_bytes += len(raw)
            document = yamlsource.parse(yamlsource.decode(raw, display), display)
            shell = yamlsource.validate(RuleFile, document)
        except _Refused as exc:
            self.problems.append(SourceLocation(display, 1, 1, str(exc)))
            return
        except SourceError as exc:
            self.problems.extend(exc.problems)
            return
        if shell.normalization is not None:
            self._normalization(document, shell.normalization)
        for index, data in enumerate(shell.rules or ()):
            self._rule(name, document, ("rules", index), data)

    def _normalization(self, document: yamlsource.Document, data: Any) -> None:
        chosen = self._validate(Normalization, document, ("normalization",), data)
        if chosen is not None:
            origin = Origin(document.file, *document.locate(("normalization",)))
            if self.normalization is None:
                self.normalization = (chosen, origin)
            else:
                message = f"normalization is already set at {self.normalization[1]}"
                self.problems.append(document.error(("normalization",), message))

    def _rule(self, name: str, document: yamlsource.Document, loc: Loc, data: Any) -> None:
        origin = Origin(document.file, *document.locate(loc))
        rule_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(rule_id, str) and self.ids.setdefault(rule_id, origin) is not origin:
            message = f"the rule id {rule_id!r} is already used at {self.ids[rule_id]}"
            self.problems.append(document.error((*loc, "id"), message))
        spec = self._validate(RuleSpec, document, loc, data)
        if spec is None:
            return
        terms = list(spec.terms)
        if spec.terms_file is not None:
            terms += self._terms_file(name, spec.terms_file, document, (*loc, "terms_file"))
        unique, except_terms = _unique(terms), _unique(spec.except_terms)
        self.terms += len(unique) + len(except_terms)
        if self.terms > self.limits.terms:
            raise RuleSetQuotaExceeded(
                f"the rule set holds more than {self.limits.terms} terms (with except_terms), "
                f"the most one rule set may hold here; refused at {origin}"
            )
        if len(self.rules) >= self.limits.rules:
            raise RuleSetQuotaExceeded(
                f"the rule set holds more than {self.limits.rules} rules, the most one rule set "
                "may hold here"
            )
        description = MappingProxyType(dict(spec.description or {}))
        self.rules.append(
            Rule(
                spec.id,
                spec.category,
                spec.action,
                spec.mode,
                unique,
                spec.patterns,
                except_terms,
                description,
                origin,
            )
        )

    def _terms_file(
        self, name: str, reference: str, document: yamlsource.Document, loc: Loc
    ) -> list[str]:
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), reference))
        problem = ""
        if reference.startswith("/") or "\\" in reference or ":" in reference:
            problem = "must be a relative path with / separators"
        elif target == ".." or target.startswith("../"):
            problem = "points outside the rule set's folder"
        elif target not in self.lists:
            problem = self._list(target)
        if problem:
            self.problems.append(document.error(loc, f"terms_file {reference!r}: {problem}"))
        return self.lists.get(target) or []

    def _list(self, target: str) -> str:
        """Read the terms file ``target`` into ``self.lists``; a problem with the file itself."""
        self.lists[target] = None
        display = self.tree.display(target)
        try:
            raw = self._read(target)
            if raw.count(b"\n") >= MAX_TERMS_FILE_LINES:
                return f"a terms file has at most {MAX_TERMS_FILE_LINES} lines"
            text = yamlsource.decode(raw, display).removeprefix("\ufeff")
        except _Refused as exc:
            return str(exc)
        except SourceError as exc:
            self.problems += exc.problems
            return ""
        terms, problems = _parse_terms(text, display)
        self.problems += problems
        self.lists[target] = None if problems else terms
        return ""

    def _validate(
        self, model: type[M], document: yamlsource.Document, loc: Loc, data: Any
    ) -> M | None:
        """``data`` (found at ``loc`` in ``document``) as a ``model``; None if it is invalid."""
        try:
            return model.model_validate(data, context={"checks": self.checks})
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                where = (*loc, *error["loc"])
                path = ".".join(str(part) for part in where)
                self.problems.append(document.error(where, f"{path}: {error['msg']}"))
            return None
