"""Scratch databases for the benches: a SQLite file in a folder, or a PostgreSQL database
made for the run on the server that ``TRUSTDESK_TEST_POSTGRES_URL`` names (as
``scripts/with-postgres`` exports it) and dropped afterwards."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from trustdesk.db.engine import Database, make_engine


@contextmanager
def scratch_url(backend: str, folder: Path, pg_url: str | None = None) -> Iterator[str]:
    """The URL of an empty database: ``folder``'s SQLite file, or a new PostgreSQL database
    on ``pg_url``'s server (default: ``TRUSTDESK_TEST_POSTGRES_URL``)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    server = pg_url or os.environ.get("TRUSTDESK_TEST_POSTGRES_URL")
    if not server:
        raise RuntimeError("PostgreSQL benches need TRUSTDESK_TEST_POSTGRES_URL or --pg-url")
    admin_url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"trustdesk_bench_{secrets.token_hex(4)}"
    admin = make_engine(admin_url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_database(backend: str) -> Iterator[Database]:
    """An empty :class:`Database` on ``backend``, disposed of (and dropped) afterwards."""
    with tempfile.TemporaryDirectory() as folder, scratch_url(backend, Path(folder)) as url:
        database = Database.from_url(url)
        try:
            yield database
        finally:
            database.dispose()
