"""A backup archive: a tar of the database's copy, the log's checkpoint and a manifest.

Members, and nothing else: ``manifest.json`` (what the archive holds: format, when, which
trustdesk, backend, schema revision, the log's origin, size and public key, and each other
member's size and SHA-256), ``checkpoint.txt`` (the signed checkpoint made just before the
copy, which the restored log must be consistent with) and ``database.sqlite3`` or
``database.pgdump``. Keys are never in it (``trustdesk backup --keys-to``).

Reading is hostile-input safe: only regular-file members with those names, each read once
and streamed to its own file while its digest is taken, the small ones capped, every digest
and size checked against the manifest before anything is restored.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trustdesk.db.backup import PG_FILE, SQLITE_FILE
from trustdesk.errors import InvalidInput

FORMAT = "trustdesk-backup/1"
MANIFEST = "manifest.json"
CHECKPOINT = "checkpoint.txt"
SMALL = 1024 * 1024  # the manifest and the checkpoint, at most
CHUNK = 1024 * 1024


class InvalidArchive(InvalidInput):
    code = "invalid_backup_archive"


@dataclass(frozen=True, slots=True)
class Unpacked:
    manifest: dict[str, Any]
    checkpoint: str
    database: Path


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def write(target: Path, manifest: dict[str, Any], checkpoint: str, database: Path) -> None:
    """The archive at ``target``: ``manifest`` gains the members' sizes and digests."""
    folder = database.parent
    (folder / CHECKPOINT).write_text(checkpoint, encoding="utf-8")
    members = [folder / CHECKPOINT, database]
    files = {p.name: {"bytes": p.stat().st_size, "sha256": digest(p)} for p in members}
    manifest = {"format": FORMAT, **manifest, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")
    partial = target.with_name(target.name + ".partial")
    with tarfile.open(partial, "w") as tar:
        for path in (folder / MANIFEST, *members):
            tar.add(path, arcname=path.name, recursive=False)
    partial.replace(target)  # (whole or not at all)


def read(source: Path, into: Path) -> Unpacked:
    """The archive's members, checked, the database copy written under ``into``."""
    try:
        tar = tarfile.open(source, "r:")  # noqa: SIM115  (closed below)
    except (OSError, tarfile.TarError) as exc:
        raise InvalidArchive(f"{source} is not a backup archive ({exc})") from exc
    seen: dict[str, Path] = {}
    with tar:
        try:
            for member in tar:
                seen[member.name] = _member(tar, member, into, seen)
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise InvalidArchive(f"{source} is damaged ({exc.__class__.__name__})") from exc
    manifest = _manifest(seen)
    database = SQLITE_FILE if manifest.get("backend") == "sqlite" else PG_FILE
    expected = {CHECKPOINT, database}
    if set(manifest["files"]) != expected or set(seen) != expected | {MANIFEST}:
        raise InvalidArchive(f"the archive must hold {sorted(expected | {MANIFEST})}")
    for name in expected:
        facts = manifest["files"][name]
        if not isinstance(facts, dict):
            raise InvalidArchive(f"the manifest's entry for {name} is not an object")
        if seen[name].stat().st_size != facts.get("bytes") or digest(seen[name]) != facts.get(
            "sha256"
        ):
            raise InvalidArchive(f"{name} does not match the manifest's size and digest")
    checkpoint = seen[CHECKPOINT].read_text(encoding="utf-8", errors="strict")
    return Unpacked(manifest, checkpoint, seen[database])


def _member(
    tar: tarfile.TarFile, member: tarfile.TarInfo, into: Path, seen: dict[str, Path]
) -> Path:
    allowed = {MANIFEST, CHECKPOINT, SQLITE_FILE, PG_FILE}
    if member.name not in allowed or member.name in seen:
        raise InvalidArchive(f"unexpected member {member.name[:100]!r} in the archive")
    if not member.isreg():
        raise InvalidArchive(f"{member.name} is not a regular file")
    if member.name in {MANIFEST, CHECKPOINT} and member.size > SMALL:
        raise InvalidArchive(f"{member.name} is over {SMALL} bytes")
    handle = tar.extractfile(member)
    if handle is None:
        raise InvalidArchive(f"{member.name} cannot be read")
    path = into / member.name
    with handle, path.open("wb") as out:
        while chunk := handle.read(CHUNK):
            out.write(chunk)
    return path


def _manifest(seen: dict[str, Path]) -> dict[str, Any]:
    if MANIFEST not in seen:
        raise InvalidArchive(f"the archive has no {MANIFEST}")
    try:
        manifest = json.loads(seen[MANIFEST].read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArchive(f"{MANIFEST} is not JSON") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidArchive(f"{MANIFEST} is not a {FORMAT} manifest")
    if manifest.get("backend") not in {"sqlite", "postgresql"}:
        raise InvalidArchive(f"{MANIFEST} names no known backend")
    if not isinstance(manifest.get("files"), dict):
        raise InvalidArchive(f"{MANIFEST} lists no files")
    return manifest
