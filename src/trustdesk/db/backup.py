"""A database copied out whole and brought back into an empty one: the backend's own tools.

SQLite: the online backup API (``sqlite3.Connection.backup``), a consistent copy of a
database in use, page by page. PostgreSQL: ``pg_dump`` in its custom format (one consistent
snapshot, compressed) and ``pg_restore`` into an empty database, found on the ``PATH`` or
among Debian's ``/usr/lib/postgresql/<version>/bin`` (the newest), the password passed in
the environment, never on the command line. The archive around the copy (manifest,
checkpoint, digests) is :mod:`trustdesk.cli.backup`'s.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import URL, inspect, make_url

from trustdesk.db.engine import make_engine
from trustdesk.errors import ConfigurationError, InvalidInput

SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
PAGES = 1024  # SQLite pages copied between progress reports
TOOL_SECONDS = 6 * 3600  # pg_dump / pg_restore, at most

Progress = Callable[[int, int], None]  # (done, total) in the backend's units


class NotEmpty(InvalidInput):
    """A restore's target database already holds tables."""

    code = "restore_target_not_empty"


class ToolFailed(ConfigurationError):
    """pg_dump or pg_restore is missing or failed."""

    code = "backup_tool_failed"


def backend_of(url: str) -> str:
    """``sqlite`` or ``postgresql``: what :func:`dump` and :func:`load` take."""
    name = make_url(url).get_backend_name()
    if name not in {"sqlite", "postgresql"}:
        raise ConfigurationError(f"backups handle SQLite and PostgreSQL, not {name}")
    return name


def file_name(backend: str) -> str:
    return SQLITE_FILE if backend == "sqlite" else PG_FILE


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigurationError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def is_empty(url: str) -> bool:
    """Whether the database holds no table (a SQLite file that does not exist is empty)."""
    if backend_of(url) == "sqlite" and not _sqlite_path(url).exists():
        return True
    engine = make_engine(url)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def dump(url: str, into: Path, progress: Progress | None = None) -> Path:
    """Copy the database into the folder ``into``; the file written."""
    target = into / file_name(backend_of(url))
    if backend_of(url) == "sqlite":
        source = _sqlite_path(url)
        if not source.exists():
            raise ConfigurationError(f"no SQLite database at {source}")
        _sqlite_copy(source, target, progress)
    else:
        _tool("pg_dump", url, ["--format=custom", "--no-owner", "--no-privileges", "-f", target])
    return target


def load(url: str, source: Path, progress: Progress | None = None) -> None:
    """Bring the copy ``source`` (:func:`dump`'s file) into the EMPTY database ``url``."""
    if not is_empty(url):
        raise NotEmpty("the target database holds tables: restore into an empty one")
    if backend_of(url) == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source, target, progress)
    else:
        arguments = ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        _tool("pg_restore", url, [*arguments, source], database_flag=True)


def _sqlite_copy(source: Path, target: Path, progress: Progress | None) -> None:
    def report(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        origin.backup(copy, pages=PAGES, progress=report)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"the SQLite copy failed: {exc}") from exc
    finally:
        copy.close()
        origin.close()


def tool_path(name: str) -> str:
    """``pg_dump`` or ``pg_restore``: the PATH's, else the newest of Debian's versions."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not versions:
        raise ToolFailed(f"{name} is not installed (Debian: postgresql-client)")
    return str(versions[-1])


def _tool(name: str, url: str, arguments: list[str | Path], *, database_flag: bool = False) -> None:
    parsed = make_url(url)
    libpq: URL = parsed.set(drivername="postgresql", password=None)
    environment = dict(os.environ)
    if parsed.password is not None:
        environment["PGPASSWORD"] = str(parsed.password)
    target = libpq.render_as_string(hide_password=False)
    command = [tool_path(name), *(["-d", target] if database_flag else []), *map(str, arguments)]
    if not database_flag:
        command.append(target)
    try:
        done = subprocess.run(  # noqa: S603  (our tool, arguments built here)
            command,
            env=environment,
            capture_output=True,
            text=True,
            timeout=TOOL_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolFailed(f"{name} could not run: {exc}") from exc
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ToolFailed(f"{name} failed: {' / '.join(said)}")
