"""Run the Alembic migrations from code (``trustdesk db upgrade``, server start, tests)."""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(bind: Engine | Connection | None = None) -> Config:
    """An Alembic configuration that runs on ``bind`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = bind
    return config


@functools.cache  # the scripts shipped with this code: read once (readiness asks often)
def head_revision() -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(bind: Engine | Connection, revision: str = "head") -> None:
    """Bring the schema up to ``revision``."""
    command.upgrade(alembic_config(bind), revision)


def check(bind: Engine | Connection) -> None:
    """Raise if the models have drifted from the migrations (alembic check)."""
    command.check(alembic_config(bind))


def current_revision(bind: Engine | Connection) -> str | None:
    """The revision the database is at, or ``None`` if it was never migrated."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    return MigrationContext.configure(bind).get_current_revision()


def downgrade(bind: Engine | Connection, revision: str) -> None:
    """Take the schema back to ``revision`` (``"base"``: nothing)."""
    command.downgrade(alembic_config(bind), revision)
